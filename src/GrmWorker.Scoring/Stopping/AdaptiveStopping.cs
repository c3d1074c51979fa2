using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Parsing;

namespace GrmWorker.Scoring.Stopping;

/// <summary>
/// The <c>adaptive</c> rule (docs/stopping.md). What we want is the answer full k_max voting would
/// give, so every test is about the REMAINING F = k_max − k samples, not about the truth:
/// <list type="bullet">
/// <item><b>Certain.</b> A paired difference D = S_leader − S_rival lies in [−9, 9], so a rival
/// whose deficit c (plus one if the tie rule favours the leader) exceeds 9F can never catch up.</item>
/// <item><b>Settled.</b> Otherwise the D_j of the valid samples are modelled as i.i.d. Normal(μ, σ²)
/// with a conjugate Normal–Inverse-Gamma prior: μ | σ² ~ N(0, σ²/κ0) (skeptical: no difference)
/// and σ² with ν0 pseudo-observations of s0², where s0² is never below twice the job's own pooled
/// per-response score variance. The sum of the F′ future differences (F′ = expected valid samples
/// among the F remaining draws) then has a Student-t posterior predictive,
/// t_{νn}(F′·μn, σn²·(F′ + F′²/κn)); the probability a rival catches
/// up is its mass at or below −c (continuity-corrected). A union bound sums these over rivals; the
/// ranking stops when the sum is ≤ δ. Bayesian predictive probabilities are unaffected by optional
/// stopping, so averaged over the prior P(final leader differs) ≤ δ however often we look.</item>
/// <item><b>n = 1.</b> Stop when the standard error of (mean now − mean at k_max),
/// σ̂·√(F / (m(m+F))), is at most the width; σ̂² is shrunk towards a prior so a few identical
/// integer scores do not read as zero variance.</item>
/// </list>
/// The prior's three numbers come from the model when it has a fitted one (<see cref="NoisePrior"/>). A verdict
/// that does not stop carries the rule's estimate of the draws it still needs, so the scheduler can size the next
/// round (<see cref="StoppingOptions.AdaptiveRounds"/>).
/// Failed samples count towards k (they cost compute) but carry no scores.
/// </summary>
public sealed class AdaptiveStopping(StoppingOptions options) : IStoppingRule
{
    /// <summary>The largest possible |S_leader − S_rival| in one sample.</summary>
    public const int MaxPairedDifference = GrmOutputParser.MaxScore - GrmOutputParser.MinScore;

    public StoppingOptions Options { get; } = options;

    public StoppingDecision Evaluate(IReadOnlyList<GrmSample> drawn, int responseCount)
    {
        ArgumentNullException.ThrowIfNull(drawn);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(responseCount);
        if (drawn.Count >= Options.KMax)
            return new StoppingDecision(true, StopReason.KMax, -1, null, null);
        if (drawn.Count < Options.KMin)
            return StoppingDecision.Go(StopReason.BelowKMin);
        var valid = drawn
            .Where(s => s.IsValid && s.Scores!.Count == responseCount)
            .Select(s => s.Scores!)
            .ToArray();
        if (valid.Length == 0)
        {
            // A GRM that has not written one parsable sample in this many draws (a truncating
            // maxNewTokens, a wrong chat format, an untrained model) will not start now.
            var giveUp = Options.GiveUpAfterInvalidDraws > 0 && drawn.Count >= Options.GiveUpAfterInvalidDraws;
            return giveUp ? new StoppingDecision(true, StopReason.NoValidSamples, -1, null, null) : StoppingDecision.Go(StopReason.Continue);
        }
        var remaining = Options.KMax - drawn.Count;
        var futureValid = ExpectedValidDraws(remaining, valid.Length, drawn.Count);
        return responseCount == 1 ? EvaluateMean(valid, futureValid) : EvaluateRanking(valid, responseCount, remaining, futureValid);
    }

    /// <summary>
    /// F counts draws, but only valid samples vote: the predictive uses the expected number of valid
    /// draws among the F remaining, F·(m + 1)/(k + 2) (the posterior mean of the parse rate under a
    /// uniform prior after m valid of k drawn). With no failures this is F·(k + 1)/(k + 2).
    /// </summary>
    internal static double ExpectedValidDraws(int remaining, int valid, int drawn) =>
        remaining * (valid + 1.0) / (drawn + 2.0);

    private StoppingDecision EvaluateMean(IReadOnlyList<int>[] valid, double remaining)
    {
        var drift = MaxMeanDrift(valid, 1, remaining);
        return new StoppingDecision(drift <= Options.MeanWidth, drift <= Options.MeanWidth ? StopReason.MeanSettled : StopReason.Continue, 0, null, drift);
    }

    private StoppingDecision EvaluateRanking(IReadOnlyList<int>[] valid, int n, int remaining, double futureValid)
    {
        var sums = new int[n];
        foreach (var scores in valid)
        {
            for (var i = 0; i < n; i++)
                sums[i] += scores[i];
        }
        var leader = Voting.Leader(sums);
        var priorVariance = PriorDifferenceVariance(valid, n);
        var rivals = new List<PairedDifferences>(n - 1);
        for (var rival = 0; rival < n; rival++)
        {
            if (rival == leader)
                continue;
            // Ties go to the lower index: a rival below the leader's index needs only to draw level.
            var needed = sums[leader] - sums[rival] + (rival > leader ? 1 : 0);
            if (MaxPairedDifference * remaining < needed)
                continue;
            rivals.Add(PairedDifferences.Of(valid, leader, rival, needed));
        }
        var certain = rivals.Count == 0;
        var change = Math.Min(ChangeProbability(rivals, remaining, futureValid, priorVariance), 1);
        var drift = Options.MeanWidthForRankings ? MaxMeanDrift(valid, n, futureValid) : (double?)null;
        var meanOk = drift is null || drift <= Options.MeanWidth;
        var reason = certain ? StopReason.LeaderCertain
            : Options.ErrorBound > 0 && change <= Options.ErrorBound ? StopReason.LeaderSettled
            : StopReason.Continue;
        var stop = reason != StopReason.Continue && meanOk;
        var next = stop || !Options.AdaptiveRounds || Options.ErrorBound <= 0 || drift is not null ? (int?)null
            : DrawsToSettle(rivals, remaining, futureValid / Math.Max(remaining, 1), priorVariance);
        return new StoppingDecision(stop, stop ? reason : StopReason.Continue, leader, certain ? 0 : change, drift) { SuggestedDraws = next };
    }

    /// <summary>Σ over the rivals still in reach of their predictive probability of catching the leader (the union bound).</summary>
    private double ChangeProbability(IEnumerable<PairedDifferences> rivals, int remaining, double futureValid, double priorVariance)
    {
        var change = 0.0;
        foreach (var r in rivals)
        {
            if (MaxPairedDifference * remaining >= r.Needed)
                change += CatchProbability(r, futureValid, priorVariance);
        }
        return change;
    }

    /// <summary>
    /// Half (rounded up) of the fewest further draws after which the rule would stop if they went as the posterior
    /// expects: each paired difference at its current mean with its spread unchanged, the same parse rate. That path
    /// is the median one and half the jobs settle sooner, so a round of half of it rarely overshoots; capped by
    /// <see cref="StoppingOptions.RoundSize"/>, rounds look after almost every sample where a job is about to settle
    /// and draw whole rounds where it is far from settling (a near tie). Measured in docs/stopping.md.
    /// </summary>
    private int DrawsToSettle(List<PairedDifferences> rivals, int remaining, double validShare, double priorVariance)
    {
        for (var r = 1; r < remaining; r++)
        {
            var extra = r * validShare;
            var projected = rivals.Select(d => d.Projected(extra));
            if (ChangeProbability(projected, remaining - r, (remaining - r) * validShare, priorVariance) <= Options.ErrorBound)
                return (r + 1) / 2;
        }
        return remaining;
    }

    /// <summary>
    /// Posterior predictive P(sum of the F future D ≤ −needed) for D = S_leader − S_rival under the
    /// Normal-Inverse-Gamma model described on the class.
    /// </summary>
    private double CatchProbability(PairedDifferences d, double remaining, double priorVariance)
    {
        var kappa0 = Options.PriorMeanWeight;
        var nu0 = Options.PriorVarianceWeight;
        var kappaN = kappa0 + d.Count;
        var muN = d.Count * d.Mean / kappaN;
        var nuN = nu0 + d.Count;
        var varN = (nu0 * priorVariance + d.SumOfSquares + kappa0 * d.Count * d.Mean * d.Mean / kappaN) / nuN;
        var f = remaining;
        var location = f * muN;
        var scale = Math.Sqrt(varN * (f + f * f / kappaN));
        return StudentT.Cdf((-d.Needed + 0.5 - location) / scale, nuN);
    }

    /// <summary>
    /// s0² of the paired differences: the fixed floor <see cref="StoppingOptions.PriorDifferenceVariance"/>,
    /// raised (with <see cref="StoppingOptions.JobScaledPrior"/>) to twice the job's pooled per-response
    /// score variance, Σ_i SS_i / (n(m − 1)). That estimate pools all n responses (n(m − 1) degrees of
    /// freedom, so it is stable after one round) and, ignoring the positive covariance a shared
    /// per-sample shift gives S_L and S_r, over-states Var(S_L − S_r): the prior is never narrower than
    /// what this job's own scores show, which is what keeps the rule calibrated for noisier GRMs.
    /// </summary>
    private double PriorDifferenceVariance(IReadOnlyList<int>[] valid, int n)
    {
        var floor = Options.PriorDifferenceVariance;
        var m = valid.Length;
        if (!Options.JobScaledPrior || m < 2)
            return floor;
        var ss = 0.0;
        for (var i = 0; i < n; i++)
        {
            var mean = 0.0;
            foreach (var s in valid)
                mean += s[i];
            mean /= m;
            foreach (var s in valid)
                ss += (s[i] - mean) * (s[i] - mean);
        }
        return Math.Max(floor, 2 * ss / (n * (m - 1.0)));
    }

    /// <summary>Largest predicted sd of (mean now − mean at k_max) over the responses.</summary>
    private double MaxMeanDrift(IReadOnlyList<int>[] valid, int n, double remaining)
    {
        var m = valid.Length;
        var worst = 0.0;
        for (var i = 0; i < n; i++)
        {
            var mean = valid.Average(s => (double)s[i]);
            var ss = valid.Sum(s => (s[i] - mean) * (s[i] - mean));
            var nu0 = Options.PriorVarianceWeight;
            var variance = (nu0 * Options.PriorScoreVariance + ss) / (nu0 + m - 1);
            var drift = Math.Sqrt(variance * remaining / ((double)m * (m + remaining)));
            worst = Math.Max(worst, drift);
        }
        return worst;
    }
}
