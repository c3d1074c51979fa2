using System.Runtime.InteropServices;

namespace GrmWorker.Inference.Native;

/// <summary>
/// Finds libonnxruntime: an explicit path (options), else <c>GRM_ORT_LIBRARY</c>, else Microsoft's CPU
/// build from npm <c>onnxruntime-node</c> under <c>tools/node</c>, searched upward from the app's
/// directory and from the current directory.
/// </summary>
public static class OrtLibraryLocator
{
    public const string EnvironmentVariable = "GRM_ORT_LIBRARY";

    /// <summary>Where <c>npm ci</c> in tools/node puts the library, relative to the repository root.</summary>
    public static readonly string BundledRelativePath = Path.Combine(
        "tools", "node", "node_modules", "onnxruntime-node", "bin", "napi-v6", "linux", "x64", "libonnxruntime.so.1");

    /// <summary>Candidate paths in the order they are tried.</summary>
    public static IReadOnlyList<string> Candidates(string? explicitPath)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            return [explicitPath];
        }
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return [fromEnvironment];
        }
        var found = new List<string>();
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, BundledRelativePath);
                if (!found.Contains(candidate))
                {
                    found.Add(candidate);
                }
            }
        }
        return found;
    }

    internal static (string Path, nint Handle) LoadLibrary(string? explicitPath)
    {
        var candidates = Candidates(explicitPath);
        var errors = new List<string>();
        foreach (var candidate in candidates)
        {
            if (!File.Exists(candidate))
            {
                errors.Add($"{candidate} (not found)");
                continue;
            }
            if (NativeLibrary.TryLoad(candidate, out var handle))
            {
                return (candidate, handle);
            }
            errors.Add($"{candidate} (exists but could not be loaded)");
        }
        var source = !string.IsNullOrWhiteSpace(explicitPath)
            ? "the configured path (Inference:OrtLibraryPath)"
            : !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(EnvironmentVariable))
                ? $"{EnvironmentVariable}"
                : $"the bundled npm package (set {EnvironmentVariable} to override)";
        throw new OrtLibraryNotFoundException(
            $"ONNX Runtime library not found via {source}. Set {EnvironmentVariable} (or Inference:OrtLibraryPath) to " +
            $"libonnxruntime.so, or run deploy/local/setup.sh to install the bundled CPU build. Tried: {string.Join("; ", errors)}",
            candidates);
    }
}
