using System.Diagnostics;
using System.Text.Json;

namespace GrmWorker.Inference.Tests.Tokenization;

/// <summary>One corpus string as the Hugging Face Rust tokenizer (npm `tokenizers`) handles it.</summary>
internal sealed record ReferenceResult(
    int[] Ids, int[] IdsSpecial, string Decoded, string DecodedSkip, string DecodedHalf);

/// <summary>Runs tools/tokenizer-parity/encode.js with node. A missing node or npm package fails
/// the test with the setup hint; it never skips.</summary>
internal static class ReferenceTokenizer
{
    public static (int VocabSize, List<ReferenceResult> Results) Run(string corpusPath, string tokenizerPath) =>
        Parse(RunNode(TokenizerFiles.ParityScript, corpusPath, tokenizerPath));

    /// <summary>Writes the tokenizer.json variants next to the test binaries (rewritten each run) and returns the folder.</summary>
    public static string WriteVariants()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "tokenizer-variants");
        RunNode(Path.Combine(TokenizerFiles.RepoRoot, "tools", "tokenizer-parity", "make-variants.js"), dir);
        return dir;
    }

    private static string RunNode(string script, params string[] args)
    {
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = TokenizerFiles.RepoRoot,
        };
        start.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"node is not installed or not on PATH ({e.Message}); {TokenizerFiles.SetupHint}.", e);
        }

        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"node {script} failed with exit code {process.ExitCode}: {stderr.Result}; {TokenizerFiles.SetupHint}.");
            }

            return stdout;
        }
    }

    private static (int, List<ReferenceResult>) Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var tokenizer = document.RootElement.GetProperty("tokenizers")[0];
        var results = tokenizer.GetProperty("results").EnumerateArray().Select(r => new ReferenceResult(
            Ints(r.GetProperty("ids")),
            Ints(r.GetProperty("idsSpecial")),
            r.GetProperty("decoded").GetString()!,
            r.GetProperty("decodedSkip").GetString()!,
            r.GetProperty("decodedHalf").GetString()!)).ToList();
        return (tokenizer.GetProperty("vocabSize").GetInt32(), results);
    }

    private static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();
}
