using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using GrmWorker.Inference;
using GrmWorker.Inference.Generation;
using GrmWorker.Inference.Runtime;
using GrmWorker.Inference.Sampling;

namespace GrmWorker.Bench.Inference;

/// <summary>
/// `grm-bench inference [--model DIR] [--json]`: on the bundled model (without --model: both its exports,
/// the concat and the shared-buffer KV layout, side by side), generated tokens/s (prefill +
/// decode, greedy, no EOS) for B = 1, 4, 8, 16 rows of the same prompt length and the ratio to B = 1;
/// prefill time saved by prefix sharing at k = 8; and the same generation in PyTorch eager
/// (models/bench_torch.py, same weights, threads and batch) as a peer at B = 8.
/// </summary>
internal static class InferenceBenchCommand
{
    private static readonly int[] Batches = [1, 4, 8, 16];
    private const int SharedK = 8;
    private const int TorchBatch = 8;

    public static Command Build()
    {
        var model = new Option<string?>("--model") { Description = "Model directory (default: the bundled models/tiny-random and models/tiny-random-gqa, side by side)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var promptTokens = new Option<int>("--prompt-tokens") { Description = "Prompt length per row.", DefaultValueFactory = _ => 128 };
        var newTokens = new Option<int>("--new-tokens") { Description = "Tokens generated per row.", DefaultValueFactory = _ => 64 };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads for ONNX Runtime and torch (default 1: steady figures on a shared host).", DefaultValueFactory = _ => 1 };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs per measurement (the best is kept).", DefaultValueFactory = _ => 3 };
        var noTorch = new Option<bool>("--no-torch") { Description = "Skip the PyTorch eager peer." };
        var noSpin = new Option<bool>("--no-spin") { Description = "ONNX Runtime pool threads do not spin (for hosts whose cores are shared)." };
        var kvRows = new Option<int>("--kv-rows") { Description = "Rows of the KV budget section (0: skip it).", DefaultValueFactory = _ => 64 };
        var provider = new Option<ExecutionProviderKind>("--execution-provider") { Description = "cpu (default) or cuda (CUDA build; concat-layout models only, KV budget 4 GiB)." };
        var kvProbe = new Option<long>("--kv-probe") { Hidden = true, Description = "Internal: measure one KV budget run in this process and print JSON." };
        var kvBudget = new Option<long>("--kv-budget") { Description = "KV budget in bytes for that section (default: a quarter of what the rows need at once).", DefaultValueFactory = _ => 0 };
        var command = new Command("inference", "Generated tokens/s per batch size, prefix-sharing saving, KV budget waves and memory, PyTorch eager peer.")
        {
            model, json, promptTokens, newTokens, threads, repeats, noTorch, noSpin, kvRows, kvBudget, kvProbe, provider,
        };
        command.SetAction((ParseResult r, CancellationToken ct) => Task.FromResult(Run(
            new BenchSettings(r.GetValue(model), r.GetValue(json), r.GetValue(promptTokens), r.GetValue(newTokens), r.GetValue(threads),
                r.GetValue(repeats), r.GetValue(noTorch), r.GetValue(noSpin), r.GetValue(kvRows), r.GetValue(kvBudget), r.GetValue(kvProbe), r.GetValue(provider)), Console.Out, Console.Error, ct)));
        return command;
    }

    private sealed record BenchSettings(
        string? ModelDir, bool Json, int PromptTokens, int NewTokens, int Threads, int Repeats, bool NoTorch, bool NoSpin, int KvRows, long KvBudget, long KvProbe, ExecutionProviderKind Provider);

    /// <summary>One model's figures.</summary>
    private sealed record ModelFigures(ModelConfig Config, JsonObject Report, double TokensPerSecondB1, double TokensPerSecondB8, double TokensPerSecondB16)
    {
        public double B16OverB1 => TokensPerSecondB16 / TokensPerSecondB1;
    }

    private static int Run(BenchSettings bench, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var (modelDir, json, promptTokens, newTokens, threads, repeats, noTorch, noSpin, kvRows, kvBudget, kvProbe, provider) = bench;
        var cuda = provider == ExecutionProviderKind.Cuda;
        if (promptTokens < 1 || newTokens < 1 || threads < 1 || repeats < 1)
        {
            stderr.WriteLine("grm-bench inference: --prompt-tokens, --new-tokens, --threads and --repeats must be >= 1.");
            return 2;
        }
        if (kvRows < 0 || kvBudget < 0)
        {
            stderr.WriteLine("grm-bench inference: --kv-rows and --kv-budget must be >= 0.");
            return 2;
        }
        if (kvProbe > 0 && modelDir is not null)
        {
            return KvBudgetBench.Probe(ModelConfig.Load(modelDir), threads, noSpin, provider, kvProbe, kvRows, promptTokens, newTokens, stdout, ct);
        }
        // Default: both bundled exports of the same weights, side by side (concat and shared-buffer KV layouts).
        // CUDA runs the concat layout only (the shared-buffer layout keeps its buffers in host memory)
        var modelDirs = modelDir is not null ? [modelDir]
            : cuda ? [.. FindBundledModels().Where(d => ModelConfig.Load(d).KvCache.Layout == KvCacheLayout.Concat)] : FindBundledModels();
        if (modelDirs.Count == 0)
        {
            stderr.WriteLine("grm-bench inference: no --model given and models/tiny-random not found above the current or app directory.");
            return 2;
        }
        if (!json)
        {
            stdout.WriteLine($"ONNX Runtime {OrtLibrary.Version()} {(cuda ? "CUDA" : "CPU")} ({OrtLibrary.LoadedPath()}), {threads} threads{(noSpin ? ", no spinning" : "")}, prompt {promptTokens} tokens, {newTokens} new tokens per row, best of {repeats} rounds, " +
                             $"load average {LoadAverage()} on {Environment.ProcessorCount} cores");
        }
        var figures = new List<ModelFigures>();
        foreach (var dir in modelDirs)
        {
            ModelConfig config;
            CausalLm model;
            try
            {
                config = ModelConfig.Load(dir);
                model = CausalLm.Load(config, new InferenceOptions
                {
                    IntraOpThreads = threads, InterOpThreads = 1, AllowSpinning = !noSpin, ExecutionProvider = provider, KvCacheBudget = cuda ? 4L << 30 : null,
                });
            }
            catch (Exception ex) when (ex is ModelConfigException or OrtRuntimeException or NotSupportedException or FileNotFoundException)
            {
                stderr.WriteLine($"grm-bench inference: {ex.Message}");
                return 1;
            }
            using (model)
            {
                figures.Add(Measure(config, model, json, promptTokens, newTokens, repeats, stdout, ct));
            }
            if (kvRows > 0)
            {
                // a quarter of what the rows need at once by default, so the waves show
                var all = Jobs(kvRows, promptTokens, newTokens, vocabLimit: 2, round: 0); // only the shape counts for the charge
                var cost = new WaveCost(model.KvBytesPerToken, model.LogitsBytesPerPosition, config.ContextLength, SharePrefix: true, model.LogitsEveryPosition);
                var budget = kvBudget > 0 ? kvBudget : KvWavePlanner.ChargeAll(all, cost) / 4;
                figures[^1].Report["kvBudget"] = KvBudgetBench.Run(config, threads, noSpin, provider, kvRows, budget, promptTokens, newTokens, json ? null : stdout, ct);
            }
        }

        // PyTorch eager peer: the same weights (weights.pt beside the concat export), B = 8
        var torch = new JsonObject { ["batch"] = TorchBatch };
        double? torchTps = null;
        var torchDir = modelDirs.Select(d => ModelConfig.Load(d).Directory).FirstOrDefault(d => File.Exists(Path.Combine(d, "weights.pt")));
        if (noTorch)
        {
            torch["skipped"] = "--no-torch";
        }
        else if (torchDir is null)
        {
            torch["error"] = "no weights.pt in the model directory (the torch peer needs the weights as a state_dict)";
        }
        else if (RunTorch(torchDir, TorchBatch, promptTokens, newTokens, threads, ct) is var (tps, error) && error is null)
        {
            torchTps = tps;
            torch["tokensPerSecond"] = Math.Round(tps, 1);
        }
        else
        {
            torch["error"] = error;
        }
        foreach (var f in figures)
        {
            if (torchTps is { } t)
            {
                f.Report["oursOverTorchB8"] = Math.Round(f.TokensPerSecondB8 / t, 2);
            }
        }
        if (!json)
        {
            stdout.WriteLine(torch["error"] is { } e
                ? $"PyTorch eager peer: not measured ({e})"
                : torch["skipped"] is not null ? "PyTorch eager peer: skipped"
                : $"PyTorch eager B={TorchBatch}: {torch["tokensPerSecond"]} tok/s");
            foreach (var f in figures)
            {
                var layout = LayoutName(f.Config.KvCache.Layout);
                stdout.WriteLine($"goals [{layout}]: B=16 >= 6x B=1: {f.B16OverB1:F2}x {(f.B16OverB1 >= 6 ? "met" : "NOT met")}" +
                                 (torchTps is { } t ? $"; ours >= 1.5x torch at B=8: {f.TokensPerSecondB8 / t:F2}x {(f.TokensPerSecondB8 / t >= 1.5 ? "met" : "NOT met")}" : ""));
            }
        }
        else
        {
            var fastest = figures.MaxBy(f => f.TokensPerSecondB16)!;
            var report = new JsonObject
            {
                ["modelId"] = fastest.Config.ModelId,
                ["kvLayout"] = LayoutName(fastest.Config.KvCache.Layout),
                ["executionProvider"] = cuda ? "cuda" : "cpu",
                ["onnxRuntime"] = OrtLibrary.Version(),
                ["onnxRuntimeLibrary"] = OrtLibrary.LoadedPath(),
                ["threads"] = threads,
                ["loadAverage"] = LoadAverage(),
                ["cores"] = Environment.ProcessorCount,
                ["promptTokens"] = promptTokens,
                ["newTokens"] = newTokens,
                ["batches"] = fastest.Report["batches"]!.DeepClone(),
                ["prefixSharing"] = fastest.Report["prefixSharing"]!.DeepClone(),
                ["torch"] = torch,
                ["b16OverB1"] = Math.Round(fastest.B16OverB1, 2),
                ["models"] = new JsonArray([.. figures.Select(f => (JsonNode)f.Report)]),
            };
            if (torchTps is { } t)
            {
                torch["oursOverTorch"] = Math.Round(fastest.TokensPerSecondB8 / t, 2);
            }
            stdout.WriteLine(report.ToJsonString());
        }
        return 0;
    }

    private static string LayoutName(KvCacheLayout layout) => layout == KvCacheLayout.SharedBuffer ? "shared-buffer" : "concat";

    private static ModelFigures Measure(ModelConfig config, CausalLm model, bool json, int promptTokens, int newTokens, int repeats, TextWriter stdout, CancellationToken ct)
    {
        var settings = GeneratorSettings.From(config) with { EosTokenIds = [] };
        var generator = new BatchedGenerator(model, settings);
        var vocabLimit = Math.Min(model.VocabSize, config.EosTokenIds.Concat([config.PadTokenId ?? int.MaxValue]).Min());
        var layout = LayoutName(config.KvCache.Layout);
        if (!json)
        {
            stdout.WriteLine($"model {config.ModelId}, KV layout {layout} ({model.NumLayers} layers, {model.NumKvHeads} KV heads x {model.HeadDim}, vocab {model.VocabSize})");
        }
        // warm-up: first runs pay for allocations and kernel selection
        generator.Generate(Jobs(2, promptTokens, Math.Min(newTokens, 8), vocabLimit, 0), ct);
        generator.Generate(Jobs(16, promptTokens, 2, vocabLimit, 0), ct);

        // Rounds interleave the batch sizes, so a burst of load from other processes hits all of them alike;
        // each batch size keeps its best round.
        var best = new Dictionary<int, GenerationStats>();
        for (var round = 0; round < repeats; round++)
        {
            foreach (var b in Batches)
            {
                var stats = generator.Generate(Jobs(b, promptTokens, newTokens, vocabLimit, round), ct).Stats;
                if (!best.TryGetValue(b, out var kept) || Seconds(stats) < Seconds(kept))
                {
                    best[b] = stats;
                }
            }
        }
        var rows = new JsonArray();
        var baseline = best[1].GeneratedTokens / Seconds(best[1]);
        foreach (var b in Batches)
        {
            var stats = best[b];
            var seconds = Seconds(stats);
            var tps = stats.GeneratedTokens / seconds;
            rows.Add(new JsonObject
            {
                ["batch"] = b,
                ["seconds"] = Math.Round(seconds, 4),
                ["prefillMs"] = Math.Round(stats.PrefillTime.TotalMilliseconds, 2),
                ["tokensPerSecond"] = Math.Round(tps, 1),
                ["decodeTokensPerSecond"] = Math.Round(stats.DecodeTokensPerSecond, 1),
                ["speedupVsB1"] = Math.Round(tps / baseline, 2),
            });
            if (!json)
            {
                stdout.WriteLine($"  B={b,2}: {tps,9:F1} tok/s  (decode {stats.DecodeTokensPerSecond,9:F1} tok/s, prefill {stats.PrefillTime.TotalMilliseconds,7:F1} ms)  x{tps / baseline:F2} vs B=1");
            }
        }

        // prefix sharing: one prompt, k = 8 rows; prefill once + KV copy vs prefill all 8 rows
        var shared = PrefillTime(model, settings, promptTokens, vocabLimit, repeats, share: true, ct);
        var unshared = PrefillTime(model, settings, promptTokens, vocabLimit, repeats, share: false, ct);
        var prefix = new JsonObject
        {
            ["k"] = SharedK,
            ["prefillSharedMs"] = Math.Round(shared.TotalMilliseconds, 2),
            ["prefillUnsharedMs"] = Math.Round(unshared.TotalMilliseconds, 2),
            ["savedMs"] = Math.Round((unshared - shared).TotalMilliseconds, 2),
            ["savedFraction"] = Math.Round(1 - (shared / unshared), 3),
        };
        if (!json)
        {
            stdout.WriteLine($"  prefix sharing, k={SharedK}: prefill {shared.TotalMilliseconds:F1} ms (once + KV copy) vs {unshared.TotalMilliseconds:F1} ms (8 rows): saves {(unshared - shared).TotalMilliseconds:F1} ms ({100 * (1 - (shared / unshared)):F0}%)");
        }
        var at8 = best[8].GeneratedTokens / Seconds(best[8]);
        var at16 = best[16].GeneratedTokens / Seconds(best[16]);
        var report = new JsonObject
        {
            ["modelId"] = config.ModelId,
            ["kvLayout"] = layout,
            ["batches"] = rows,
            ["prefixSharing"] = prefix,
            ["b16OverB1"] = Math.Round(at16 / baseline, 2),
        };
        return new ModelFigures(config, report, baseline, at8, at16);
    }

    private static double Seconds(GenerationStats s) => (s.PrefillTime + s.DecodeTime).TotalSeconds;

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    /// <summary>B jobs of one row each, random ordinary token ids (seeded), greedy.</summary>
    internal static List<GenerationJob> Jobs(int batch, int promptTokens, int newTokens, int vocabLimit, int round)
    {
        var rng = new SamplerRng((ulong)(1000 * round + batch));
        return [.. Enumerable.Range(0, batch).Select(_ =>
        {
            var prompt = Enumerable.Range(0, promptTokens).Select(_ => (int)(rng.NextUInt64() % (ulong)vocabLimit)).ToArray();
            return GenerationJob.Create(prompt, 1, 0, SamplingOptions.GreedyDecoding, newTokens);
        })];
    }

    private static TimeSpan PrefillTime(CausalLm model, GeneratorSettings settings, int promptTokens, int vocabLimit, int repeats, bool share, CancellationToken ct)
    {
        var generator = new BatchedGenerator(model, settings with { SharePrefix = share });
        var prompt = Jobs(1, promptTokens, 1, vocabLimit, 7)[0].PromptIds;
        var job = GenerationJob.Create(prompt, SharedK, 1, new SamplingOptions { Temperature = 0.5f }, 1);
        var best = TimeSpan.MaxValue;
        for (var i = 0; i < repeats + 1; i++)
        {
            using var run = generator.Start([job]);
            run.Prefill(ct);
            var t = run.GetResult().Stats.PrefillTime;
            if (i > 0 && t < best)
            {
                best = t;
            }
        }
        return best;
    }

    private static (double TokensPerSecond, string? Error) RunTorch(string modelDir, int batch, int promptTokens, int newTokens, int threads, CancellationToken ct)
    {
        const string python = "/usr/bin/python3";
        var script = Path.Combine(Path.GetDirectoryName(modelDir)!, "bench_torch.py");
        if (!File.Exists(python))
        {
            return (0, $"{python} not found (Debian python3 + python3-torch are needed)");
        }
        if (!File.Exists(script))
        {
            return (0, $"{script} not found");
        }
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     script, "--model-dir", modelDir, "--batch", batch.ToString(CultureInfo.InvariantCulture),
                     "--prompt-tokens", promptTokens.ToString(CultureInfo.InvariantCulture),
                     "--new-tokens", newTokens.ToString(CultureInfo.InvariantCulture), "--threads", threads.ToString(CultureInfo.InvariantCulture),
                 })
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {python}.");
        var stdoutTask = process.StandardOutput.ReadToEndAsync(ct);
        var stderrTask = process.StandardError.ReadToEndAsync(ct);
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            return (0, "bench_torch.py ran longer than 5 minutes");
        }
        var output = stdoutTask.GetAwaiter().GetResult();
        var errors = stderrTask.GetAwaiter().GetResult();
        if (process.ExitCode != 0)
        {
            var tail = errors.Trim().Split('\n').LastOrDefault() ?? "";
            return (0, tail.Contains("No module named 'torch'", StringComparison.Ordinal)
                ? "python3-torch is not installed"
                : $"bench_torch.py exited with {process.ExitCode}: {tail}");
        }
        try
        {
            var line = output.Trim().Split('\n')[^1];
            using var doc = JsonDocument.Parse(line);
            return (doc.RootElement.GetProperty("tokensPerSecond").GetDouble(), null);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return (0, $"bench_torch.py printed no tokensPerSecond: {ex.Message}");
        }
    }

    /// <summary>models/tiny-random and, when present, models/tiny-random-gqa (same weights, shared-buffer layout).</summary>
    private static List<string> FindBundledModels()
    {
        var tinyRandom = RepoPaths.FindBundledModel("tiny-random");
        if (tinyRandom is null) return [];
        var gqa = Path.Combine(Path.GetDirectoryName(tinyRandom)!, "tiny-random-gqa");
        return File.Exists(Path.Combine(gqa, ModelConfig.FileName)) ? [tinyRandom, gqa] : [tinyRandom];
    }
}
