namespace GrmWorker.Scoring.Stopping;

/// <summary>
/// Settings of the stopping rules (docs/stopping.md has the math). Samples are drawn in rounds of
/// <see cref="RoundSize"/> (the first round draws at least <see cref="KMin"/>); the rule is checked
/// after each round and never stops below <see cref="KMin"/> or goes past <see cref="KMax"/>.
/// </summary>
public sealed record StoppingOptions
{
    /// <summary>The configuration section the worker binds these from.</summary>
    public const string Section = "Stopping";

    public int KMin { get; init; } = 2;

    public int KMax { get; init; } = 32;

    public int RoundSize { get; init; } = 4;

    /// <summary>
    /// δ: stop a ranking (n ≥ 2) when the posterior predictive probability that some rival ends
    /// level with or above the leader at k_max, summed over rivals, is at most this.
    /// </summary>
    public double ErrorBound { get; init; } = 0.02;

    /// <summary>Stop a job that has no parsable sample after this many draws (0: never; k_max still applies).</summary>
    public int GiveUpAfterInvalidDraws { get; init; } = 8;

    /// <summary>
    /// n = 1 (and n ≥ 2 with <see cref="MeanWidthForRankings"/>): stop when the standard error of
    /// (current mean − mean at k_max) is at most this many points, for every response.
    /// </summary>
    public double MeanWidth { get; init; } = 0.2;

    /// <summary>Also hold rankings to <see cref="MeanWidth"/>, when callers need the rewards, not only the winner, settled.</summary>
    public bool MeanWidthForRankings { get; init; }

    /// <summary>κ0: pseudo-samples of "no difference" in the prior on the paired mean difference (skeptical start).</summary>
    public double PriorMeanWeight { get; init; } = 1.0;

    /// <summary>ν0: pseudo-observations behind the prior variances below; guards against a few identical samples.</summary>
    public double PriorVarianceWeight { get; init; } = 2.0;

    /// <summary>s0² of a paired difference S_leader − S_rival (points²); deliberately wide.</summary>
    public double PriorDifferenceVariance { get; init; } = 4.0;

    /// <summary>
    /// Raise s0² of the paired differences to twice this job's pooled per-response score variance when
    /// that is larger (docs/stopping.md): keeps the early predictive honest for noisier GRMs.
    /// </summary>
    public bool JobScaledPrior { get; init; } = true;

    /// <summary>s0² of one response's score (points²), for the mean-width rule.</summary>
    public double PriorScoreVariance { get; init; } = 2.0;

    /// <summary>
    /// Size each round by the rule's own estimate of the draws it still needs (<see cref="StoppingDecision.SuggestedDraws"/>),
    /// at most <see cref="RoundSize"/>; the first round draws <see cref="KMin"/>. Off: every round draws
    /// <see cref="RoundSize"/> (the first at least <see cref="KMin"/>).
    /// </summary>
    public bool AdaptiveRounds { get; init; } = true;

    /// <summary>How many samples to draw next, given how many are drawn and the rule's last verdict (0 when done).</summary>
    public int NextDrawCount(int drawn, StoppingDecision? last = null)
    {
        if (drawn >= KMax) return 0;
        if (drawn < KMin) return Math.Min(KMax - drawn, AdaptiveRounds ? KMin - drawn : Math.Max(RoundSize, KMin - drawn));
        var round = AdaptiveRounds && last?.SuggestedDraws is { } suggested ? Math.Clamp(suggested, 1, RoundSize) : RoundSize;
        return Math.Min(KMax - drawn, round);
    }

    /// <summary>A message naming the first bad setting, or null.</summary>
    public string? Validate() => Problems(this).FirstOrDefault();

    /// <summary>Every bad setting, each message naming it as requests and the CLI spell it (<c>kMin</c>, <c>roundSize</c>, ...).</summary>
    public static IEnumerable<string> Problems(StoppingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.KMax < 1) yield return "kMax must be at least 1";
        if (options.KMin < 1 || options.KMin > options.KMax) yield return "kMin must be 1..kMax";
        if (options.RoundSize < 1) yield return "roundSize must be at least 1";
        if (options.ErrorBound is < 0 or >= 1 || double.IsNaN(options.ErrorBound)) yield return "errorBound must be in [0, 1)";
        if (options.MeanWidth < 0 || double.IsNaN(options.MeanWidth)) yield return "meanWidth must be >= 0";
        if (options.PriorMeanWeight <= 0 || options.PriorVarianceWeight <= 0) yield return "prior weights must be > 0";
        if (options.PriorDifferenceVariance <= 0 || options.PriorScoreVariance <= 0) yield return "prior variances must be > 0";
        if (options.GiveUpAfterInvalidDraws < 0) yield return "giveUpAfterInvalidDraws must be >= 0";
    }
}
