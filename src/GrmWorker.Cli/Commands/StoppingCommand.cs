using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using GrmWorker.Scoring.Stopping;
using GrmWorker.Worker.Evaluation;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Runs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GrmWorker.Cli.Commands;

/// <summary>
/// `grm stopping SAMPLES.jsonl [--fit] [--error-bounds ...] [--kmax N] [--kmin N] [--round-size N] [--json]`: fits
/// the adaptive rule's prior to a model's own samples (a `grm eval --dump-samples` file) and replays the rule on them
/// round by round, without generating anything: accuracy, agreement with k_max voting, samples, rounds per δ.
/// Settings it does not override are the worker's (Stopping settings over the model's grm-config.json prior).
/// </summary>
internal static class StoppingCommand
{
    public sealed record Arguments(string SamplesFile, bool Fit = false, string? ErrorBounds = null, int? KMax = null, int? KMin = null,
        int? RoundSize = null, bool Json = false);

    public static Command Build()
    {
        var samples = new Argument<string>("SAMPLES") { Description = "A sample dump written by grm eval --dump-samples." };
        var fit = new Option<bool>("--fit") { Description = "Replay with the prior fitted to these samples instead of the worker's (the fit is printed either way)." };
        var bounds = new Option<string?>("--error-bounds") { Description = "Error bounds δ to replay, comma separated (default: the worker's)." };
        var kMax = new Option<int?>("--kmax") { Description = "k_max (default: the worker's; at most the samples per item)." };
        var kMin = new Option<int?>("--kmin") { Description = "k_min (default: the worker's)." };
        var roundSize = new Option<int?>("--round-size") { Description = "Largest round (default: the worker's)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of the table." };
        var command = new Command("stopping", "Fit the stopping rule's prior to a model's own samples and replay the rule on them.")
        {
            samples, fit, bounds, kMax, kMin, roundSize, json,
        };
        command.SetAction((ParseResult r, CancellationToken ct) => RunAsync(
            new Arguments(r.GetValue(samples)!, r.GetValue(fit), r.GetValue(bounds), r.GetValue(kMax), r.GetValue(kMin), r.GetValue(roundSize), r.GetValue(json)),
            RunEnvironment.Process, ct));
        return command;
    }

    public static Task<int> RunAsync(Arguments args, RunEnvironment environment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        return new CliRunner("stopping", environment).RunAsync(() => ReplayAsync(args, environment, cancellationToken), cancellationToken);
    }

    private static async Task<int> ReplayAsync(Arguments args, RunEnvironment environment, CancellationToken cancellationToken)
    {
        if (!File.Exists(args.SamplesFile)) throw new RunException(ExitCodes.BadInput, $"sample file '{args.SamplesFile}' does not exist");
        IReadOnlyList<DumpedItem> items;
        try
        {
            items = await SampleDumpReader.ReadAsync(args.SamplesFile, cancellationToken);
        }
        catch (EvalDataException ex)
        {
            throw new RunException(ExitCodes.BadInput, ex.Message);
        }
        var fitted = NoisePrior.Fit(items.Select(i => (IReadOnlyList<IReadOnlyList<int>>)i.Samples.Where(s => s.IsValid).Select(s => s.Scores!).ToArray()));
        if (args.Fit && fitted is null) throw new RunException(ExitCodes.BadInput, "--fit: too few items with two or more responses and four valid samples to fit a prior");
        var stopping = Settings(args, environment, args.Fit ? fitted : null, items.Min(i => i.Samples.Count));
        var bounds = ParseBounds(args.ErrorBounds) ?? [stopping.ErrorBound];
        var rows = bounds.Select(d => DumpReplay.Run(items, stopping with { ErrorBound = d })).ToArray();
        if (args.Json) environment.Out.WriteLine(JsonSerializer.Serialize(new { items = items.Count, stopping, fittedPrior = fitted, replays = rows }, JsonOptions));
        else Print(environment.Out, items.Count, stopping, fitted, rows);
        return ExitCodes.Ok;
    }

    private static StoppingOptions Settings(Arguments args, RunEnvironment environment, NoisePrior? fitted, int samplesPerItem)
    {
        var configuration = RunServices.Configuration(environment);
        using var services = RunServices.Build(environment, configuration, s =>
        {
            s.AddSettings<ModelOptions>(configuration, ModelOptions.Section, ModelOptions.Problems);
            s.AddStoppingOptions(configuration);
        });
        var worker = services.GetRequiredService<IOptions<StoppingOptions>>().Value;
        var kMax = args.KMax ?? Math.Min(worker.KMax, samplesPerItem);
        if (kMax > samplesPerItem) throw new RunException(ExitCodes.BadInput, $"--kmax {kMax}: an item has only {samplesPerItem} samples");
        var stopping = (fitted?.ApplyTo(worker) ?? worker) with
        {
            KMax = kMax, KMin = Math.Min(args.KMin ?? worker.KMin, kMax), RoundSize = args.RoundSize ?? worker.RoundSize,
        };
        return stopping.Validate() is { } problem ? throw new RunException(ExitCodes.BadInput, problem) : stopping;
    }

    private static double[]? ParseBounds(string? text) => text is null ? null :
        CliList.Parse(text, part => double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d is >= 0 and < 1 ? d : (double?)null)
            ?? throw new RunException(ExitCodes.BadInput, $"--error-bounds takes numbers in [0, 1) separated by commas (got '{text}')");

    private static void Print(TextWriter o, int items, StoppingOptions s, NoisePrior? fitted, StoppingReplayFigures[] rows)
    {
        o.WriteLine(Inv($"{items} items, k_max {s.KMax}, k_min {s.KMin}, rounds {(s.AdaptiveRounds ? "adaptive, at most " : "")}{s.RoundSize}; prior s0² {s.PriorDifferenceVariance:0.###}, κ0 {s.PriorMeanWeight:0.###}, ν0 {s.PriorVarianceWeight:0.#}{(s.JobScaledPrior ? ", job-scaled" : "")}"));
        o.WriteLine(Inv($"voting@{s.KMax}: {Pct(rows[0].FullAccuracy)}"));
        foreach (var r in rows)
            o.WriteLine(Inv($"δ {r.ErrorBound,-6:0.###} accuracy {Pct(r.Accuracy)} ({100 * r.AccuracyDifference:+0.0;-0.0;0.0} ± {100 * r.AccuracyDifferenceError:0.0} points vs k_max, paired)  agreement with k_max {Pct(r.Agreement)}  samples {r.SamplesFraction:P1} of k_max  rounds {r.MeanRounds:0.00}"));
        o.WriteLine(fitted is null
            ? "fitted prior: too few items to fit"
            : Inv($"fitted prior ({fitted.Pairs} pairs), for grm-config.json: \"stopping\": {{ \"differenceVariance\": {fitted.DifferenceVariance:0.###}, \"meanWeight\": {fitted.MeanWeight:0.###}, \"varianceWeight\": {fitted.VarianceWeight:0.#} }}"));
    }

    private static string Pct(EvalAccuracy a) => Inv($"{a.Value:P1} ± {a.StandardError:P1}");

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}
