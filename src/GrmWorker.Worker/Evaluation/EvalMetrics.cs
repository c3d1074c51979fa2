using GrmWorker.Contracts;
using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Stopping;

namespace GrmWorker.Worker.Evaluation;

/// <summary>
/// RewardBench-style accuracy of the GRM from drawn samples; pure (docs/eval.md defines every figure).
/// An item is right when its true best response gets STRICTLY the highest aggregated score: a tie for the top
/// counts as wrong (the worker's tie rule, lowest index wins, would otherwise reward position), and so does an
/// aggregation with no valid sample to vote (an unparsable greedy sample included).
/// </summary>
public static class EvalMetrics
{
    /// <param name="ks">Sample counts to report voting and meta-RM accuracy at; each voting@k uses the FIRST k samples.</param>
    /// <param name="adaptive">The stopping settings the worker would use for k_max (rounds, kMin, δ): replayed round by round.</param>
    /// <param name="metaRm">Meta-RM voting settings, or null to skip meta-RM figures.</param>
    /// <param name="sweepErrorBounds">Other error bounds δ to replay the same rule with (the trade-off of accuracy against samples).</param>
    public static EvalMetricsReport Compute(IReadOnlyList<ItemSamples> items, IReadOnlyList<int> ks, StoppingOptions adaptive, MetaRmOptions? metaRm,
        IReadOnlyList<double>? sweepErrorBounds = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(ks);
        ArgumentNullException.ThrowIfNull(adaptive);
        var sorted = ks.Distinct().Order().ToArray();
        if (sorted.Length == 0 || sorted[0] < 1) throw new ArgumentException("ks must hold positive sample counts", nameof(ks));
        var kMax = sorted[^1];
        if (items.FirstOrDefault(i => i.Samples.Count < kMax) is { } lacking)
            throw new ArgumentException($"item {lacking.Item.Index} has {lacking.Samples.Count} samples, fewer than k_max = {kMax}", nameof(items));
        var stopping = adaptive with { KMax = kMax, KMin = Math.Min(adaptive.KMin, kMax) };
        var metaAggregator = metaRm is null ? null : Aggregator.For(AggregationKind.MetaRm, metaRm);

        var greedy = Count(items, i => GreedyRight(i));
        var voting = sorted.ToDictionary(k => k, k => Count(items, i => Right(Aggregator.Voting, i, k)));
        var meta = metaAggregator is null ? null : sorted.ToDictionary(k => k, k => Count(items, i => Right(metaAggregator, i, k)));
        var sweep = (sweepErrorBounds ?? []).Where(d => d != stopping.ErrorBound).Distinct().Order()
            .Select(d => Adaptive(items, stopping with { ErrorBound = d })).ToArray();
        return new EvalMetricsReport(
            items.Count, kMax, greedy, voting, meta, Adaptive(items, stopping),
            Samples: items.Count * kMax,
            ValidSamples: items.Sum(i => i.Samples.Take(kMax).Count(s => s.IsValid)),
            GreedyValid: items.Count(i => i.Greedy.IsValid),
            AdaptiveSweep: sweep);
    }

    /// <summary>The adaptive rule with these settings replayed on every item: voting accuracy over the samples it drew, and how many.</summary>
    private static AdaptiveFigures Adaptive(IReadOnlyList<ItemSamples> items, StoppingOptions stopping)
    {
        var rule = StoppingRules.For(StoppingKind.Adaptive, stopping);
        var used = items.Select(i => AdaptiveSamplesUsed(i.Samples, i.Item.ResponseCount, rule)).ToArray();
        var right = new EvalAccuracy(items.Where((item, j) => Right(Aggregator.Voting, item, used[j])).Count(), items.Count);
        var meanUsed = used.Length == 0 ? 0 : used.Average();
        return new AdaptiveFigures(stopping.ErrorBound, right, meanUsed, meanUsed / stopping.KMax);
    }

    /// <summary>True when <paramref name="best"/> holds a value strictly above every other one (a shared top is false).</summary>
    public static bool StrictlyHighest(IReadOnlyList<int> values, int best)
    {
        ArgumentNullException.ThrowIfNull(values);
        for (var i = 0; i < values.Count; i++)
        {
            if (i != best && values[i] >= values[best]) return false;
        }
        return true;
    }

    /// <summary>A sample "ranks the best first" when it is valid and its scores put the true best strictly on top.</summary>
    public static bool RanksBestFirst(GrmSample sample, int best)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return sample.IsValid && StrictlyHighest(sample.Scores!, best);
    }

    /// <summary>
    /// How many of <paramref name="samples"/> the adaptive rule would have drawn: rounds of
    /// <see cref="StoppingOptions.NextDrawCount"/>, the rule asked after each, exactly as a worker job stops.
    /// </summary>
    public static int AdaptiveSamplesUsed(IReadOnlyList<GrmSample> samples, int responseCount, IStoppingRule rule)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(rule);
        return StoppingReplay.Run(rule, [.. samples], responseCount).Drawn;
    }

    private static bool GreedyRight(ItemSamples item) => RanksBestFirst(item.Greedy, item.Item.Best);

    private static bool Right(Aggregator aggregator, ItemSamples item, int k)
    {
        var result = aggregator.Aggregate(item.Samples.Take(k).ToArray(), item.Item.ResponseCount);
        return result.HasVotes && StrictlyHighest(result.VoteSums, item.Item.Best);
    }

    private static EvalAccuracy Count<T>(IReadOnlyList<T> items, Func<T, bool> right) => new(items.Count(right), items.Count);
}
