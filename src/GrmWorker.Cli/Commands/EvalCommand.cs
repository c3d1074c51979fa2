using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using GrmWorker.Cli.Views;
using GrmWorker.Contracts;
using GrmWorker.Inference;
using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Stopping;
using GrmWorker.Worker.Evaluation;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Pipeline;
using GrmWorker.Worker.Runs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GrmWorker.Cli.Commands;

/// <summary>
/// `grm eval DATA.jsonl [--k 1,2,4,8,16,32] [--json] [--plot PATH.svg] [--dump-samples PATH.jsonl] ...`: held-out
/// RewardBench-style accuracy of the GRM (greedy, voting@k, meta-RM@k, adaptive stopping) with the worker's own
/// sampling, parsing and aggregation. Settings the flags leave out come from the worker's (appsettings.json, GRM_*).
/// Exit codes: 0 done, 1 model or runtime error, 2 bad arguments or data (docs/eval.md).
/// </summary>
internal static class EvalCommand
{
    public const int DefaultBatchRows = 128;

    public sealed record Arguments(
        string DataFile,
        string? ModelDirectory = null,
        string? MetaRmDirectory = null,
        bool NoMetaRm = false,
        string Ks = "1,2,4,8,16,32",
        double? Temperature = null,
        int? MaxNewTokens = null,
        int? Limit = null,
        int BatchRows = DefaultBatchRows,
        int? Threads = null,
        bool Json = false,
        string? PlotPath = null,
        string? DumpSamplesPath = null,
        long Seed = 0,
        string? ErrorBounds = null);

    public static Command Build()
    {
        var data = new Argument<string>("DATA") { Description = "JSONL file: {\"id\"?, \"query\", \"responses\": [2+], \"best\": index, \"reference\"?} per line." };
        var model = new Option<string?>("--model") { Description = "GRM directory (default: setting Model:Directory, env GRM_MODEL__DIRECTORY)." };
        var metaRm = new Option<string?>("--meta-rm") { Description = "Meta-RM directory (default: setting Model:MetaRmDirectory, else the one grm-config.json names in metaRm)." };
        var noMetaRm = new Option<bool>("--no-meta-rm") { Description = "Skip the meta-RM and its figures." };
        var ks = new Option<string>("--k") { Description = "Sample counts to report, comma separated; the largest is k_max, drawn per item.", DefaultValueFactory = _ => "1,2,4,8,16,32" };
        var temperature = new Option<double?>("--temperature") { Description = "Sampling temperature (default: the worker's, Worker:DefaultTemperature)." };
        var maxNew = new Option<int?>("--max-new-tokens") { Description = "Most tokens per sample (default: the worker's, Worker:DefaultMaxNewTokens)." };
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N items (all lines are still checked)." };
        var batch = new Option<int>("--batch") { Description = "Generation rows per batched call (k_max + 1 per item; at least one item).", DefaultValueFactory = _ => DefaultBatchRows };
        var threads = new Option<int?>("--threads") { Description = "ONNX Runtime intra-op threads (default: Inference:IntraOpThreads, 0 = one per core)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of the table (no progress on stderr)." };
        var plot = new Option<string?>("--plot") { Description = "Write an SVG plot of accuracy vs k to this path (.svg)." };
        var dump = new Option<string?>("--dump-samples") { Description = "Write one JSON line per sample (text, scores, meta score, ranksBestFirst) to this path." };
        var errorBounds = new Option<string?>("--error-bounds") { Description = "Also replay adaptive stopping at these error bounds δ (comma separated, each in [0, 1)) on the same samples." };
        var seed = new Option<long>("--seed") { Description = "Job seed of an item without an id: this plus its 0-based item index.", DefaultValueFactory = _ => 0 };
        var command = new Command("eval", "Held-out accuracy of the GRM: greedy, voting@k, meta-RM@k and adaptive stopping.")
        {
            data, model, metaRm, noMetaRm, ks, temperature, maxNew, limit, batch, threads, json, plot, dump, seed, errorBounds,
        };
        command.SetAction((ParseResult r, CancellationToken ct) => RunAsync(
            new Arguments(
                r.GetValue(data)!, r.GetValue(model), r.GetValue(metaRm), r.GetValue(noMetaRm), r.GetValue(ks)!, r.GetValue(temperature),
                r.GetValue(maxNew), r.GetValue(limit), r.GetValue(batch), r.GetValue(threads), r.GetValue(json), r.GetValue(plot),
                r.GetValue(dump), r.GetValue(seed), r.GetValue(errorBounds)),
            RunEnvironment.Process, ct));
        return command;
    }

    /// <summary>The command's work, callable in-process (tests pass writers, settings and a replayed GRM).</summary>
    public static Task<int> RunAsync(Arguments args, RunEnvironment environment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        var runner = new CliRunner("eval", environment);
        return runner.RunAsync(() => EvaluateAsync(args, environment, cancellationToken), cancellationToken);
    }

    private static async Task<int> EvaluateAsync(Arguments args, RunEnvironment environment, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var ks = ParseKs(args.Ks);
        var errorBounds = ParseErrorBounds(args.ErrorBounds);
        CheckArguments(args);
        var items = await ReadItemsAsync(args, cancellationToken);

        var configuration = RunServices.Configuration(environment with { Settings = Overrides(args, environment.Settings) });
        await using var services = RunServices.Build(environment, configuration, s => s.AddGrmScoring(configuration));
        var worker = services.GetRequiredService<IOptions<WorkerOptions>>().Value;
        var limits = services.GetRequiredService<IOptions<ValidationLimits>>().Value;
        var settings = SamplingSettings(args, ks, worker, limits);
        var generator = services.GetRequiredService<IGrmGenerator>();
        var metaScorer = services.GetRequiredService<MetaScorerAvailability>().Scorer;
        var metaRmId = metaScorer?.ModelId;
        var sampler = new EvalSampler(generator, services.GetRequiredService<ScoringPipeline>(), settings, metaScorer);
        try
        {
            sampler.Validate(args.DataFile, items);
        }
        catch (EvalDataException ex)
        {
            throw new RunException(ExitCodes.BadInput, ex.Message);
        }

        var (drawn, generatedTokens, generationTime) = await DrawAllAsync(sampler, items, args, environment, cancellationToken);

        var stopping = services.GetRequiredService<IOptions<StoppingOptions>>().Value;
        // Meta-RM voting as the worker aggregates it (Aggregator.For("meta-rm"): the top half of the valid samples vote).
        var report = EvalMetrics.Compute(drawn, ks, stopping, metaScorer is null ? null : new MetaRmOptions(), errorBounds);
        var info = new EvalRunInfo(args.DataFile, generator.ModelId, metaRmId, ks, settings.Temperature, settings.MaxNewTokens,
            clock.Elapsed.TotalSeconds, generatedTokens, generationTime.TotalSeconds);
        if (args.PlotPath is { } plotPath) await WriteFileAsync(plotPath, EvalPlot.Render(report, info), "--plot", cancellationToken);
        if (args.Json) environment.Out.WriteLine(EvalReportJson.Write(report, info));
        else EvalTable.Write(CliConsole.Create(environment), report, info);
        return ExitCodes.Ok;
    }

    /// <summary>Every item's samples in file order, each batch's samples dumped as it arrives; generated tokens and generation time.</summary>
    private static async Task<(List<ItemSamples> Drawn, long GeneratedTokens, TimeSpan GenerationTime)> DrawAllAsync(
        EvalSampler sampler, IReadOnlyList<EvalItem> items, Arguments args, RunEnvironment environment, CancellationToken cancellationToken)
    {
        var drawn = new List<ItemSamples>(items.Count);
        long generatedTokens = 0;
        var generationTime = TimeSpan.Zero;
        var progress = args.Json ? null : new EvalProgress(environment.Error, items.Count, environment.Interactive && !Console.IsErrorRedirected);
        await using var dump = OpenDump(args.DumpSamplesPath);
        var dumpWriter = dump is null ? null : new SampleDumpWriter(dump);
        await foreach (var batch in sampler.DrawAsync(args.DataFile, items, cancellationToken))
        {
            foreach (var item in batch.Items)
            {
                drawn.Add(item.Samples);
                if (dumpWriter is not null) await dumpWriter.WriteAsync(item, cancellationToken);
            }
            generatedTokens += batch.Stats.GeneratedTokens;
            generationTime += batch.GenerationTime;
            progress?.BatchDone(batch);
        }
        return (drawn, generatedTokens, generationTime);
    }

    private static int[] ParseKs(string text)
    {
        var ks = CliList.Parse(text, part => int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var k) && k >= 1 ? k : (int?)null)
            ?? throw new RunException(ExitCodes.BadInput, $"--k takes positive integers separated by commas (got '{text}')");
        return [.. ks.Distinct().Order()];
    }

    private static double[] ParseErrorBounds(string? text) => text is null ? [] :
        CliList.Parse(text, part => double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d is >= 0 and < 1 ? d : (double?)null)
            ?? throw new RunException(ExitCodes.BadInput, $"--error-bounds takes numbers in [0, 1) separated by commas (got '{text}')");

    private static void CheckArguments(Arguments a)
    {
        string? problem =
            a.MetaRmDirectory is not null && a.NoMetaRm ? "--meta-rm and --no-meta-rm cannot be combined"
            : a.Limit is < 1 ? $"--limit must be at least 1 (got {a.Limit})"
            : a.BatchRows < 1 ? $"--batch must be at least 1 (got {a.BatchRows})"
            : a.Threads is < 0 ? $"--threads must be >= 0 (got {a.Threads})"
            : a.PlotPath is { } p && !p.EndsWith(".svg", StringComparison.OrdinalIgnoreCase) ? $"--plot writes SVG; give a path ending in .svg (got '{p}')"
            : null;
        if (problem is not null) throw new RunException(ExitCodes.BadInput, problem);
    }

    private static async Task<IReadOnlyList<EvalItem>> ReadItemsAsync(Arguments args, CancellationToken cancellationToken)
    {
        if (!File.Exists(args.DataFile)) throw new RunException(ExitCodes.BadInput, $"data file '{args.DataFile}' does not exist");
        try
        {
            return await EvalDataReader.ReadAsync(args.DataFile, args.Limit, cancellationToken);
        }
        catch (EvalDataException ex)
        {
            throw new RunException(ExitCodes.BadInput, ex.Message);
        }
    }

    /// <summary>The flags that are worker settings become configuration overrides, so the worker's binding applies.</summary>
    private static Dictionary<string, string?> Overrides(Arguments args, IReadOnlyDictionary<string, string?> settings)
    {
        var overrides = new Dictionary<string, string?>(settings);
        if (args.ModelDirectory is { } model) overrides[$"{ModelOptions.Section}:Directory"] = model;
        if (args.NoMetaRm) overrides[MetaRmScorer.DirectorySetting] = ModelOptions.NoMetaRm;
        else if (args.MetaRmDirectory is { } metaRm) overrides[MetaRmScorer.DirectorySetting] = metaRm;
        if (args.Threads is { } threads) overrides[$"{InferenceOptions.Section}:IntraOpThreads"] = threads.ToString(CultureInfo.InvariantCulture);
        return overrides;
    }

    private static EvalSamplingSettings SamplingSettings(Arguments args, int[] ks, WorkerOptions worker, ValidationLimits limits)
    {
        var kMax = ks[^1];
        var temperature = args.Temperature ?? worker.DefaultTemperature;
        var maxNew = args.MaxNewTokens ?? worker.DefaultMaxNewTokens;
        string? problem =
            kMax > limits.MaxKMax ? $"--k: k_max {kMax} is above the worker's limit Validation:MaxKMax = {limits.MaxKMax}"
            : double.IsNaN(temperature) || temperature < 0 || temperature > limits.MaxTemperature ? $"--temperature must be 0..{limits.MaxTemperature} (got {temperature})"
            : maxNew < 1 || maxNew > limits.MaxNewTokensLimit ? $"--max-new-tokens must be 1..{limits.MaxNewTokensLimit} (got {maxNew})"
            : null;
        if (problem is not null) throw new RunException(ExitCodes.BadInput, problem);
        return new EvalSamplingSettings(kMax, temperature, maxNew, args.BatchRows, args.Seed);
    }

    private static StreamWriter? OpenDump(string? path)
    {
        if (path is null) return null;
        try
        {
            return new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new RunException(ExitCodes.Failure, $"--dump-samples: cannot write '{path}': {ex.Message}");
        }
    }

    private static async Task WriteFileAsync(string path, string content, string option, CancellationToken cancellationToken)
    {
        try
        {
            await File.WriteAllTextAsync(path, content, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new RunException(ExitCodes.Failure, $"{option}: cannot write '{path}': {ex.Message}");
        }
    }
}
