using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Sampling;
using GrmWorker.Scoring.Simulation;
using GrmWorker.Scoring.Stopping;

// Usage (README.md here):
//   run.sh dp S0SQ KAPPA0                         threshold rule vs the Bayes-optimal (DP) policy, in the pair model
//   run.sh SEED JOBS RULE DELTAS [ROUND [KMIN]]    RULE: base | grid | pern (FAC=f0,f1,f2,f3,f4 scales δ per n) | exact (N=2 or 3)
//   BREAK=1 / CALIB=1 add where the samples go / predicted-vs-realised flip rates by n; N=2 / N=3 keep jobs of that many responses.
if (args.Length == 3 && args[0] == "dp") { Dp.Run(double.Parse(args[1]), double.Parse(args[2])); return; }
if (args.Length < 4) { Console.Error.WriteLine("usage: run.sh dp S0SQ KAPPA0 | run.sh SEED JOBS base|grid|pern|exact DELTAS [ROUND [KMIN]]"); Environment.Exit(2); }
var seed = long.Parse(args[0]);
var jobs = int.Parse(args[1]);
var mode = args[2];
var deltas = args[3].Split(',').Select(double.Parse).ToArray();
var roundSize = args.Length > 4 ? int.Parse(args[4]) : 1;
var kmin = args.Length > 5 ? int.Parse(args[5]) : 2;
// N=2 or N=3: jobs of that many responses only (the exact rule's mixtures).
var onlyN = int.TryParse(Environment.GetEnvironmentVariable("N"), out var nOnly) ? nOnly : 0;
var mixture = onlyN > 0 ? new SimulationMixture { MinResponses = onlyN, MaxResponses = onlyN } : new SimulationMixture();
var grm = new SyntheticGrm(mixture);

// The calibration jobs grm simulate --fit-prior fits on: same mixture, another seed stream.
var calib = new List<IReadOnlyList<IReadOnlyList<int>>>();
for (var j = 0; j < 2000; j++)
{
    var job = grm.DrawJob(SeedDerivation.SampleSeed(seed ^ 0x5EED_CA11_B2A7_E5L, j));
    calib.Add(Enumerable.Range(0, 32).Select(i => grm.DrawSample(job, i)).Where(s => s.IsValid).Select(s => s.Scores!).ToArray());
}
var prior = NoisePrior.Fit(calib)!;
Console.WriteLine($"fitted prior: {prior}");
GridPrior? grid = mode == "grid" ? GridPrior.Fit(calib) : null;
if (grid != null) Console.WriteLine($"grid prior: s0² {grid.S0:0.000}; mass at |μ| < 0.3: {grid.Mu.Zip(grid.W).Where(x => Math.Abs(x.First) < 0.3).Sum(x => x.Second):0.000}");

var streams = new List<(GrmSample[] s, int n, int full, bool tie, double gap)>();
for (var j = 0; j < jobs; j++)
{
    var job = grm.DrawJob(SeedDerivation.SampleSeed(seed, j));
    var stream = Enumerable.Range(0, 32).Select(i => grm.DrawSample(job, i)).ToArray();
    var qs = job.Quality.OrderByDescending(x => x).ToArray();
    streams.Add((stream, job.Quality.Count, Voting.Vote(stream, job.Quality.Count).Best, job.NearTie, qs.Length > 1 ? qs[0] - qs[1] : 9));
}
if (mode == "exact")
{
    var exact = new ExactBayes(mixture, onlyN, onlyN == 2 ? 0.05 : 0.1);
    var paths = new double[streams.Count][];
    Parallel.For(0, streams.Count, j => paths[j] = exact.Trajectory(streams[j].s, 32));
    foreach (var delta in deltas)
    {
        long used = 0; var agree = 0;
        for (var j = 0; j < streams.Count; j++)
        {
            var d = Enumerable.Range(kmin, 32 - kmin).FirstOrDefault(m => paths[j][m] <= delta, 32);
            used += d;
            agree += Voting.Vote(new ArraySegment<GrmSample>(streams[j].s, 0, d), streams[j].n).Best == streams[j].full ? 1 : 0;
        }
        Console.WriteLine($"exact δ={delta} rounds≤1: samples {100.0 * used / (32.0 * jobs):0.00}% of k_max, agreement {100.0 * agree / jobs:0.00}%");
    }
    return;
}
var fac = (Environment.GetEnvironmentVariable("FAC") ?? "1,1,1,1,1").Split(',').Select(double.Parse).ToArray();
foreach (var delta in deltas)
{
    var options = prior.ApplyTo(new StoppingOptions()) with { ErrorBound = delta, RoundSize = roundSize, KMin = kmin, AdaptiveRounds = roundSize > 1 };
    IStoppingRule rule = mode switch
    {
        "pern" => new PerNRule(options, fac),
        "grid" => new GridRule(options with { AdaptiveRounds = false }, grid!, prior.VarianceWeight),
        _ => new AdaptiveStopping(options),
    };
    long used = 0, rounds = 0;
    var agree = 0;
    foreach (var (s, n, full, _, _) in streams)
    {
        var (d, r) = StoppingReplay.Run(rule, s, n);
        used += d;
        rounds += r;
        agree += Voting.Vote(new ArraySegment<GrmSample>(s, 0, d), n).Best == full ? 1 : 0;
    }
    if (Environment.GetEnvironmentVariable("BREAK") == "1") Breakdown.Print(streams, rule);
    if (Environment.GetEnvironmentVariable("CALIB") == "1") Calib.Print(streams, rule);
    Console.WriteLine($"{mode} δ={delta} rounds≤{roundSize}: samples {100.0 * used / (32.0 * jobs):0.00}% of k_max, agreement {100.0 * agree / jobs:0.00}%, rounds {(double)rounds / jobs:0.00}");
}
