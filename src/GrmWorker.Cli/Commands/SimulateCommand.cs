using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using GrmWorker.Contracts;
using GrmWorker.Scoring.Simulation;
using GrmWorker.Scoring.Stopping;
using Spectre.Console;

namespace GrmWorker.Cli.Commands;

/// <summary>
/// `grm simulate`: runs synthetic GRM jobs through the real stopping rule and voting and reports,
/// per (k_max, noise) setting, samples used, top-1 agreement and reward difference against full
/// k_max voting on the same samples. All logic is in GrmWorker.Scoring.Simulation; this file only
/// parses flags and prints. With --json: one object whose top-level figures are the FIRST setting's,
/// and every setting under "settings".
/// </summary>
internal static class SimulateCommand
{
    private const int CalibrationJobs = 2000;
    private static readonly SimulationMixture Mix = new();
    private static readonly StoppingOptions Stop = new();

    private static readonly Option<string> KMaxList = new("--kmax") { Description = "k_max values, comma separated; the first is the primary setting", DefaultValueFactory = _ => "32,16,8" };
    private static readonly Option<string> NoiseList = new("--noise") { Description = "per-sample noise sd values (points), comma separated", DefaultValueFactory = _ => Num(Mix.Noise) };
    private static readonly Option<int> Jobs = new("--jobs") { Description = "jobs per setting", DefaultValueFactory = _ => 5000 };
    private static readonly Option<long> Seed = new("--seed") { Description = "simulation seed", DefaultValueFactory = _ => 1 };
    private static readonly Option<bool> Json = new("--json") { Description = "print one JSON object instead of a table" };
    private static readonly Option<string> Stopping = new("--stopping") { Description = "rule under test: adaptive | none", DefaultValueFactory = _ => StoppingKind.Adaptive };
    private static readonly Option<int> KMin = new("--kmin") { Description = "never stop below this many samples", DefaultValueFactory = _ => Stop.KMin };
    private static readonly Option<int> RoundSize = new("--round-size") { Description = "largest round (every round with --fixed-rounds)", DefaultValueFactory = _ => Stop.RoundSize };
    private static readonly Option<double> ErrorBound = new("--error-bound") { Description = "delta: allowed predictive probability that the k_max leader differs", DefaultValueFactory = _ => Stop.ErrorBound };
    private static readonly Option<double> MeanWidth = new("--mean-width") { Description = "n=1 (or --mean-width-for-rankings): sd of mean drift to k_max", DefaultValueFactory = _ => Stop.MeanWidth };
    private static readonly Option<bool> MeanWidthForRankings = new("--mean-width-for-rankings") { Description = "also hold n>=2 jobs to --mean-width" };
    private static readonly Option<bool> FixedPrior = new("--fixed-prior") { Description = "keep s0^2 of the paired differences fixed instead of scaling it to the job's own score variance" };
    private static readonly Option<bool> FixedRounds = new("--fixed-rounds") { Description = "every round draws --round-size (the rule's own estimate of the draws it needs is ignored)" };
    private static readonly Option<bool> FitPrior = new("--fit-prior") { Description = $"fit the prior to the synthetic GRM's own samples first, as grm eval fits it for a model ({CalibrationJobs} calibration jobs of the same mixture, another seed stream)" };
    private static readonly Option<double> PriorDifferenceVariance = new("--prior-difference-variance") { Description = "s0^2 of a paired difference (points^2)", DefaultValueFactory = _ => Stop.PriorDifferenceVariance };
    private static readonly Option<double> PriorMeanWeight = new("--prior-mean-weight") { Description = "kappa0: pseudo-samples of 'no difference' in the prior", DefaultValueFactory = _ => Stop.PriorMeanWeight };
    private static readonly Option<double> PriorVarianceWeight = new("--prior-variance-weight") { Description = "nu0: pseudo-observations of s0^2", DefaultValueFactory = _ => Stop.PriorVarianceWeight };
    private static readonly Option<int> MinResponses = new("--min-responses") { Description = "fewest responses per job", DefaultValueFactory = _ => Mix.MinResponses };
    private static readonly Option<int> MaxResponses = new("--max-responses") { Description = "most responses per job", DefaultValueFactory = _ => Mix.MaxResponses };
    private static readonly Option<double> QualityLow = new("--quality-low") { Description = "latent quality lower bound (points)", DefaultValueFactory = _ => Mix.QualityLow };
    private static readonly Option<double> QualityHigh = new("--quality-high") { Description = "latent quality upper bound (points)", DefaultValueFactory = _ => Mix.QualityHigh };
    private static readonly Option<double> NearTieFraction = new("--near-tie-fraction") { Description = "fraction of jobs forced to a near tie", DefaultValueFactory = _ => Mix.NearTieFraction };
    private static readonly Option<double> NearTieGap = new("--near-tie-gap") { Description = "largest best-minus-runner-up gap of a near tie (points)", DefaultValueFactory = _ => Mix.NearTieGap };
    private static readonly Option<double> SampleOffset = new("--sample-offset") { Description = "sd of a per-sample shift shared by all responses", DefaultValueFactory = _ => Mix.SampleOffset };
    private static readonly Option<double> PositionBias = new("--position-bias") { Description = "points the first shown position gains over the last", DefaultValueFactory = _ => Mix.PositionBias };
    private static readonly Option<double> UnparseableRate = new("--unparseable-rate") { Description = "fraction of samples whose text does not parse", DefaultValueFactory = _ => Mix.UnparseableRate };

    public static Command Build()
    {
        var command = new Command("simulate", "Measure the stopping rule against full k_max voting on a synthetic GRM.");
        Option[] options =
        [
            KMaxList, NoiseList, Jobs, Seed, Json, Stopping, KMin, RoundSize, ErrorBound, MeanWidth, MeanWidthForRankings, FixedPrior,
            FixedRounds, FitPrior, PriorDifferenceVariance, PriorMeanWeight, PriorVarianceWeight,
            MinResponses, MaxResponses, QualityLow, QualityHigh, NearTieFraction, NearTieGap, SampleOffset, PositionBias, UnparseableRate,
        ];
        foreach (var option in options)
            command.Options.Add(option);
        command.SetAction((ParseResult parse, CancellationToken ct) => Task.FromResult(Run(parse, ct)));
        return command;
    }

    private static int Run(ParseResult parse, CancellationToken ct)
    {
        var kMaxes = CliList.Parse(parse.GetValue(KMaxList)!, t => int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : (int?)null);
        var noises = CliList.Parse(parse.GetValue(NoiseList)!, t => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : (double?)null);
        if (kMaxes is null || noises is null)
            return Fail("--kmax and --noise take comma-separated numbers");
        var settings = (from k in kMaxes from noise in noises select Setting(parse, k, noise)).ToArray();
        var problem = settings.Select(s => s.Mixture.Validate() ?? s.Stopping.Validate()).FirstOrDefault(p => p is not null)
            ?? (parse.GetValue(Jobs) < 1 ? "--jobs must be at least 1" : null)
            ?? (StoppingKind.IsKnown(settings[0].StoppingKind) ? null : "--stopping must be adaptive or none");
        if (problem is not null)
            return Fail(problem);
        var reports = settings.Select(s => Simulator.Run(s, ct)).ToArray();
        if (parse.GetValue(Json))
            PrintJson(settings[0], reports);
        else
            PrintTable(settings[0], reports);
        return 0;
    }

    private static SimulationSettings Setting(ParseResult p, int kMax, double noise)
    {
        var mixture = new SimulationMixture
        {
            MinResponses = p.GetValue(MinResponses), MaxResponses = p.GetValue(MaxResponses),
            QualityLow = p.GetValue(QualityLow), QualityHigh = p.GetValue(QualityHigh),
            NearTieFraction = p.GetValue(NearTieFraction), NearTieGap = p.GetValue(NearTieGap),
            Noise = noise, SampleOffset = p.GetValue(SampleOffset), PositionBias = p.GetValue(PositionBias),
            UnparseableRate = p.GetValue(UnparseableRate),
        };
        var stopping = new StoppingOptions
        {
            KMax = kMax, KMin = Math.Min(p.GetValue(KMin), kMax), RoundSize = p.GetValue(RoundSize),
            ErrorBound = p.GetValue(ErrorBound), MeanWidth = p.GetValue(MeanWidth),
            MeanWidthForRankings = p.GetValue(MeanWidthForRankings), JobScaledPrior = !p.GetValue(FixedPrior),
            PriorDifferenceVariance = p.GetValue(PriorDifferenceVariance), PriorMeanWeight = p.GetValue(PriorMeanWeight),
            PriorVarianceWeight = p.GetValue(PriorVarianceWeight), AdaptiveRounds = !p.GetValue(FixedRounds),
        };
        if (p.GetValue(FitPrior) && mixture.Validate() is null
            && Simulator.FitNoisePrior(mixture, p.GetValue(Seed), CalibrationJobs, Math.Max(kMax, NoisePrior.MinSamplesPerJob)) is { } fitted)
            stopping = fitted.ApplyTo(stopping);
        return new SimulationSettings(mixture, stopping, p.GetValue(Stopping)!, p.GetValue(Jobs), p.GetValue(Seed));
    }

    private static void PrintTable(SimulationSettings first, SimulationReport[] reports)
    {
        var table = new Table().Title($"grm simulate: {first.Jobs} jobs per setting, stopping={first.StoppingKind}, δ={Num(first.Stopping.ErrorBound)}");
        foreach (var column in new[] { "k_max", "noise", "used", "frac", "agree", "|Δr|", "early", "tie agr", "tie frac", "rounds" })
            table.AddColumn(new TableColumn(column).RightAligned());
        foreach (var r in reports)
        {
            table.AddRow(r.KMax.ToString(CultureInfo.InvariantCulture), Num(r.Noise), r.MeanSamplesUsed.ToString("F2", CultureInfo.InvariantCulture),
                Pct(r.MeanSamplesFraction), Pct(r.Top1Agreement), r.MeanAbsRewardDiff.ToString("F3", CultureInfo.InvariantCulture),
                Pct(r.StoppedEarlyRate), Pct(r.NearTieAgreement), Pct(r.NearTieSamplesFraction), r.MeanRounds.ToString("F2", CultureInfo.InvariantCulture));
        }
        AnsiConsole.Write(table);
        var m = first.Mixture;
        AnsiConsole.MarkupLineInterpolated($"[grey]mixture: responses {m.MinResponses}-{m.MaxResponses}, quality uniform {Num(m.QualityLow)}..{Num(m.QualityHigh)}, near ties {Pct(m.NearTieFraction)} (gap <= {Num(m.NearTieGap)}), sample offset sd {Num(m.SampleOffset)}, position bias {Num(m.PositionBias)}, unparseable {Pct(m.UnparseableRate)}[/]");
    }

    private static void PrintJson(SimulationSettings first, SimulationReport[] reports)
    {
        var primary = reports[0];
        var output = new
        {
            primary.MeanSamplesFraction, primary.Top1Agreement, primary.MeanAbsRewardDiff,
            primary.KMax, primary.Noise, primary.Jobs, first.StoppingKind,
            Settings = reports, first.Mixture, first.Stopping, first.Seed,
        };
        Console.WriteLine(JsonSerializer.Serialize(output, JsonOptions));
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"grm simulate: {message}");
        return 2;
    }

    private static string Num(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Pct(double v) => v.ToString("P1", CultureInfo.InvariantCulture);
}
