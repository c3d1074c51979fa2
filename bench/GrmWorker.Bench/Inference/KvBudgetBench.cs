using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using GrmWorker.Inference;
using GrmWorker.Inference.Generation;
using GrmWorker.Worker.Hosting;

namespace GrmWorker.Bench.Inference;

/// <summary>
/// `grm-bench inference`'s KV budget section: <c>rows</c> rows generated once within a budget (in waves) and once
/// without one, each in a child process of its own (memory a process freed stays resident for its allocator, and
/// ONNX Runtime's CPU arena keeps its high-water mark, so one process cannot measure both). Reports waves, the
/// most KV bytes held at once (tracked by the generator), RSS after loading and a small warm-up, the RSS peak
/// above it (sampled every 2 ms) and the process's peak RSS (VmHWM), to compare with budget + weights.
/// </summary>
internal static class KvBudgetBench
{
    /// <summary>The unbounded probe's budget: more than any run here needs.</summary>
    private const long NoBudget = 1L << 50;

    /// <summary>The seed round of the probe's jobs: both probes generate the same rows.</summary>
    private const int ProbeRound = 4242;

    public static JsonObject Run(ModelConfig config, int threads, bool noSpin, ExecutionProviderKind provider, int rows, long budget, int promptTokens, int newTokens, TextWriter? stdout, CancellationToken ct)
    {
        var weights = new FileInfo(config.ModelPath).Length;
        var bounded = RunProbe(config, threads, noSpin, provider, budget, rows, promptTokens, newTokens, ct);
        var unbounded = RunProbe(config, threads, noSpin, provider, NoBudget, rows, promptTokens, newTokens, ct);
        var report = new JsonObject
        {
            ["rows"] = rows,
            ["budgetBytes"] = budget,
            ["weightsBytes"] = weights,
            ["withinBudget"] = bounded,
            ["unbounded"] = unbounded,
            ["sameTokens"] = (string?)bounded["tokensHash"] == (string?)unbounded["tokensHash"],
        };
        stdout?.WriteLine(
            $"  KV budget, B={rows} rows, budget {Mb(budget)} MB, weights {Mb(weights)} MB: {Line(bounded)} | no budget: {Line(unbounded)} | same tokens: {(bool)report["sameTokens"]!}");
        return report;

        static string Line(JsonNode f) =>
            $"{(int)f["waves"]!} wave(s), peak KV {Mb((long)f["peakKvBytes"]!)} MB + prefill logits {Mb((long)f["peakLogitsBytes"]!)} MB, RSS {Mb((long)f["rssAfterLoadBytes"]!)} MB after load, " +
            $"peak +{Mb((long)f["rssPeakGrowthBytes"]!)} MB (VmHWM {Mb((long)f["vmHwmBytes"]!)} MB), {(double)f["tokensPerSecond"]!:F0} tok/s";
    }

    /// <summary>The child's side (`grm-bench inference --model DIR --kv-probe BUDGET`): one measurement, one JSON line.</summary>
    public static int Probe(ModelConfig config, int threads, bool noSpin, ExecutionProviderKind provider, long budget, int rows, int promptTokens, int newTokens, TextWriter stdout, CancellationToken ct)
    {
        var options = new InferenceOptions { IntraOpThreads = threads, InterOpThreads = 1, AllowSpinning = !noSpin, KvCacheBudget = budget, ExecutionProvider = provider };
        using var model = CausalLm.Load(config, options);
        var generator = new BatchedGenerator(model, GeneratorSettings.From(config) with { EosTokenIds = [] });
        var vocab = Math.Min(model.VocabSize > 0 ? model.VocabSize : int.MaxValue, config.EosTokenIds.Append(config.PadTokenId ?? int.MaxValue).Min());
        generator.Generate(InferenceBenchCommand.Jobs(1, promptTokens, 2, vocab, ProbeRound), ct);
        GC.Collect();
        var afterLoad = ProcessMemory.RssBytes();
        GenerationResult result;
        long growth;
        using (var sampler = new RssSampler())
        {
            result = generator.Generate(InferenceBenchCommand.Jobs(rows, promptTokens, newTokens, vocab, ProbeRound), ct);
            growth = sampler.Stop();
        }
        var stats = result.Stats;
        var tokens = string.Join(",", result.Jobs.SelectMany(j => j.SelectMany(s => s.Tokens)));
        stdout.WriteLine(new JsonObject
        {
            ["waves"] = stats.Waves,
            ["peakKvBytes"] = stats.PeakKvBytes,
            ["peakLogitsBytes"] = stats.PeakLogitsBytes,
            ["rssAfterLoadBytes"] = afterLoad,
            ["rssPeakGrowthBytes"] = growth,
            ["vmHwmBytes"] = ProcessMemory.PeakRssBytes(),
            ["tokensPerSecond"] = Math.Round(stats.GeneratedTokens / (stats.PrefillTime + stats.DecodeTime).TotalSeconds, 1),
            ["tokensHash"] = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(tokens)))[..16],
        }.ToJsonString());
        return 0;
    }

    private static JsonNode RunProbe(ModelConfig config, int threads, bool noSpin, ExecutionProviderKind provider, long budget, int rows, int promptTokens, int newTokens, CancellationToken ct)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            start.ArgumentList.Add(Environment.GetCommandLineArgs()[0]); // run as `dotnet grm-bench.dll`: the dll comes first
        }
        foreach (var arg in new[]
                 {
                     "inference", "--model", config.Directory, "--kv-probe", I(budget), "--kv-rows", I(rows), "--threads", I(threads),
                     "--prompt-tokens", I(promptTokens), "--new-tokens", I(newTokens), "--execution-provider", provider.ToString().ToLowerInvariant(),
                 }.Concat(noSpin ? ["--no-spin"] : []))
        {
            start.ArgumentList.Add(arg);
        }
        using var child = Process.Start(start) ?? throw new InvalidOperationException("the KV probe did not start");
        var stderrTask = child.StandardError.ReadToEndAsync(ct);
        var output = child.StandardOutput.ReadToEnd();
        child.WaitForExitAsync(ct).GetAwaiter().GetResult();
        if (child.ExitCode != 0)
        {
            throw new InvalidOperationException($"the KV probe exited with {child.ExitCode}: {stderrTask.GetAwaiter().GetResult()}");
        }
        return JsonNode.Parse(output.Trim().Split('\n')[^1])!;

        static string I(long v) => v.ToString(CultureInfo.InvariantCulture);
    }

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);

    /// <summary>Samples VmRSS every 2 ms on its own thread; <see cref="Stop"/> returns the peak above the first reading.</summary>
    private sealed class RssSampler : IDisposable
    {
        private readonly long _start = ProcessMemory.RssBytes();
        private readonly Thread _thread;
        private volatile bool _stop;
        private long _peak;

        public RssSampler()
        {
            _peak = _start;
            _thread = new Thread(() =>
            {
                while (!_stop)
                {
                    var rss = ProcessMemory.RssBytes();
                    if (rss > Interlocked.Read(ref _peak))
                    {
                        Interlocked.Exchange(ref _peak, rss);
                    }
                    Thread.Sleep(2);
                }
            }) { IsBackground = true };
            _thread.Start();
        }

        public long Stop()
        {
            _stop = true;
            _thread.Join();
            return Math.Max(0, Math.Max(Interlocked.Read(ref _peak), ProcessMemory.RssBytes()) - _start);
        }

        public void Dispose() => Stop();
    }
}
