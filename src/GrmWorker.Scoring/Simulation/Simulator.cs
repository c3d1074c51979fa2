using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Sampling;
using GrmWorker.Scoring.Stopping;

namespace GrmWorker.Scoring.Simulation;

/// <summary>
/// Runs synthetic jobs through the real stopping rule and voting. Each job draws its k_max sample
/// stream once; full voting uses all of it and the rule under test a prefix, drawn round by round
/// exactly as the scheduler would. Deterministic for a given seed.
/// </summary>
public static class Simulator
{
    public static SimulationReport Run(SimulationSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var grm = new SyntheticGrm(settings.Mixture);
        var rule = StoppingRules.For(settings.StoppingKind, settings.Stopping);
        var totals = new Totals();
        for (var j = 0; j < settings.Jobs; j++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var job = grm.DrawJob(SeedDerivation.SampleSeed(settings.Seed, j));
            totals.Add(RunJob(grm, rule, job), job.NearTie);
        }
        return totals.Report(settings);
    }

    /// <summary>Keeps the calibration jobs of <see cref="FitNoisePrior"/> apart from the jobs they are used on.</summary>
    private const long CalibrationStream = 0x5EED_CA11_B2A7_E5L;

    /// <summary>
    /// What a user does per model (fit the prior on the GRM's own samples, docs/stopping.md), done on the synthetic
    /// GRM: <paramref name="jobs"/> calibration jobs of the same mixture, drawn from a seed stream the measured jobs
    /// never use, <paramref name="samplesPerJob"/> samples each, fitted with <see cref="NoisePrior.Fit"/>.
    /// </summary>
    public static NoisePrior? FitNoisePrior(SimulationMixture mixture, long seed, int jobs, int samplesPerJob)
    {
        ArgumentNullException.ThrowIfNull(mixture);
        var grm = new SyntheticGrm(mixture);
        var calibration = new List<IReadOnlyList<IReadOnlyList<int>>>(jobs);
        for (var j = 0; j < jobs; j++)
        {
            var job = grm.DrawJob(SeedDerivation.SampleSeed(seed ^ CalibrationStream, j));
            calibration.Add(Enumerable.Range(0, samplesPerJob).Select(i => grm.DrawSample(job, i))
                .Where(s => s.IsValid).Select(s => s.Scores!).ToArray());
        }
        return NoisePrior.Fit(calibration);
    }

    /// <summary>Draws rounds until the rule stops; returns the prefix used and the full stream.</summary>
    internal static JobOutcome RunJob(SyntheticGrm grm, IStoppingRule rule, SyntheticJob job)
    {
        var n = job.Quality.Count;
        var kMax = rule.Options.KMax;
        var stream = new GrmSample[kMax];
        for (var i = 0; i < kMax; i++)
            stream[i] = grm.DrawSample(job, i);
        var (drawn, rounds) = StoppingReplay.Run(rule, stream, n);
        var full = Voting.Vote(stream, n);
        var used = Voting.Vote(new ArraySegment<GrmSample>(stream, 0, drawn), n);
        return new JobOutcome(drawn, kMax, full, used, rounds);
    }

    internal sealed record JobOutcome(int Drawn, int KMax, VoteResult Full, VoteResult Used, int Rounds);

    private sealed class Totals
    {
        private int _jobs, _agree, _nearTies, _nearTieAgree, _early;
        private long _samples, _invalid, _rounds;
        private double _fraction, _rewardDiff, _nearTieFraction;

        public void Add(JobOutcome o, bool nearTie)
        {
            _jobs++;
            var fraction = (double)o.Drawn / o.KMax;
            var agree = o.Full.Best == o.Used.Best;
            _fraction += fraction;
            _samples += o.Drawn;
            _rounds += o.Rounds;
            _invalid += o.Used.SamplesUsed - o.Used.SamplesValid;
            _agree += agree ? 1 : 0;
            _early += o.Drawn < o.KMax ? 1 : 0;
            _rewardDiff += o.Full.Rewards.Zip(o.Used.Rewards, (a, b) => Math.Abs(a - b)).Average();
            if (nearTie)
            {
                _nearTies++;
                _nearTieAgree += agree ? 1 : 0;
                _nearTieFraction += fraction;
            }
        }

        public SimulationReport Report(SimulationSettings s)
        {
            var jobs = Math.Max(_jobs, 1);
            var ties = Math.Max(_nearTies, 1);
            return new SimulationReport(
                s.Stopping.KMax, s.Mixture.Noise, _jobs,
                MeanSamplesUsed: (double)_samples / jobs,
                MeanSamplesFraction: _fraction / jobs,
                Top1Agreement: (double)_agree / jobs,
                MeanAbsRewardDiff: _rewardDiff / jobs,
                StoppedEarlyRate: (double)_early / jobs,
                NearTieAgreement: (double)_nearTieAgree / ties,
                NearTieSamplesFraction: _nearTieFraction / ties,
                InvalidSampleRate: (double)_invalid / Math.Max(_samples, 1),
                MeanRounds: (double)_rounds / jobs);
        }
    }
}
