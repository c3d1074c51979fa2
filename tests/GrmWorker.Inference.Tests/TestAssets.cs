using GrmWorker.Inference.Runtime;

namespace GrmWorker.Inference.Tests;

/// <summary>The real ONNX Runtime library and the bundled tiny model; missing ones fail loudly, never skip.</summary>
internal static class TestAssets
{
    private const string Setup = "build with the Microsoft.ML.OnnxRuntime package restored (its libonnxruntime.so beside the test assembly) and make sure models/tiny-random is built (models/build_tiny_random.py)";

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string TinyModelDir
    {
        get
        {
            var dir = Path.Combine(RepoRoot, "models", "tiny-random");
            foreach (var file in new[] { "model.onnx", "tokenizer.json", "grm-config.json", "reference-greedy.json" })
            {
                if (!File.Exists(Path.Combine(dir, file)))
                {
                    throw new InvalidOperationException($"The bundled test model is incomplete: {Path.Combine(dir, file)} is missing; {Setup}.");
                }
            }
            return dir;
        }
    }

    /// <summary>The same weights exported with the shared-buffer KV layout (GroupQueryAttention).</summary>
    public static string TinyGqaModelDir
    {
        get
        {
            var dir = Path.Combine(RepoRoot, "models", "tiny-random-gqa");
            foreach (var file in new[] { "model.onnx", "tokenizer.json", "grm-config.json" })
            {
                if (!File.Exists(Path.Combine(dir, file)))
                {
                    throw new InvalidOperationException($"The bundled shared-buffer test model is incomplete: {Path.Combine(dir, file)} is missing; {Setup}.");
                }
            }
            return dir;
        }
    }

    public static string AddModel => Path.Combine(RepoRoot, "tests", "GrmWorker.Inference.Tests", "Fixtures", "add.onnx");

    /// <summary>Loads ONNX Runtime (the package's library, or GRM_ORT_LIBRARY) and says how to fix it when that fails.</summary>
    public static void EnsureRuntime()
    {
        try
        {
            OrtLibrary.Configure(null);
        }
        catch (OrtRuntimeException ex)
        {
            throw new InvalidOperationException($"ONNX Runtime is not available; {Setup}. {ex.Message}", ex);
        }
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GrmWorker.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"No GrmWorker.sln above {AppContext.BaseDirectory}.");
    }
}
