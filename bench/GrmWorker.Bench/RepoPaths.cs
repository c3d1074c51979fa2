using GrmWorker.Inference;

namespace GrmWorker.Bench;

/// <summary>The benches run inside the repository: its bundled models, corpus and node scripts are found from here.</summary>
internal static class RepoPaths
{
    /// <summary>models/<paramref name="name"/> (a model directory) above the current or the app directory; null when there is none.</summary>
    public static string? FindBundledModel(string name) =>
        FindUp(dir => File.Exists(Path.Combine(dir, "models", name, ModelConfig.FileName))) is { } root ? Path.Combine(root, "models", name) : null;

    /// <summary>The repository root (the folder with GrmWorker.sln) above the current or the app directory.</summary>
    public static string FindRepoRoot() =>
        FindUp(dir => File.Exists(Path.Combine(dir, "GrmWorker.sln")))
        ?? throw new InvalidOperationException("Run from inside the GrmWorker repository: the corpus, node scripts and tokenizer files live there.");

    private static string? FindUp(Func<string, bool> matches)
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (matches(dir.FullName)) return dir.FullName;
            }
        }
        return null;
    }
}
