using System.Text.Json;
using GrmWorker.Contracts;
using GrmWorker.Scoring.Aggregation;
using GrmWorker.Storage;

namespace GrmWorker.Worker.Replay;

/// <summary>
/// Re-aggregates one stored job with a <see cref="ReplayStrategy"/>: its first k stored samples, through the live
/// <see cref="Aggregator"/>. No GRM runs and nothing is written here; the caller stores and publishes.
/// </summary>
internal static class JobReplayer
{
    /// <param name="metaScores">Meta-RM scores by sample index from a re-scoring (`--meta-rm DIR`); null to use the stored ones.</param>
    public static ReplayJobOutcome Replay(StoredJob stored, ReplayStrategy strategy, MetaRmOptions metaRm, IReadOnlyDictionary<int, double>? metaScores)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(strategy);
        var job = stored.Job;
        if (job.Status != ScoreStatus.Scored)
            return ReplayJobOutcome.Skip(stored, $"not scored ({job.Status}{(job.ErrorCode is { } code ? ": " + code : "")})");
        if (job.Samples.Count == 0 || job.Responses.Count == 0)
            return ReplayJobOutcome.Skip(stored, "no stored samples");

        var samples = StoredSamples.First(job, strategy.K, metaScores);
        if (strategy.Aggregation == AggregationKind.MetaRm && metaScores is null && !samples.Any(s => s.IsValid && s.MetaScore is not null))
        {
            return ReplayJobOutcome.Fail(stored,
                $"no valid sample{(strategy.K is { } k ? $" among the first {k}" : "")} has a stored meta score; pass --meta-rm DIR to score them with a meta reward model");
        }
        var vote = Aggregator.For(strategy.Aggregation, metaRm).Aggregate(samples, job.Responses.Count);
        if (!vote.HasVotes)
            return ReplayJobOutcome.Skip(stored, $"no valid sample among the first {samples.Count}");

        return new ReplayJobOutcome
        {
            RequestId = job.RequestId,
            JobId = stored.JobId,
            Route = job.Route,
            Outcome = ReplayJobOutcome.Replayed,
            SamplesUsed = vote.SamplesUsed,
            SamplesValid = vote.SamplesValid,
            VotingSamples = vote.VotingSamples,
            Rewards = vote.Rewards,
            VoteSums = vote.VoteSums,
            StoredBest = StoredBest(job.ResultJson),
            Best = vote.Best,
        };
    }

    /// <summary>The reward rows of a replayed job, tagged with the strategy name.</summary>
    public static IReadOnlyList<RewardRecord> Rows(ReplayJobOutcome outcome, ReplayStrategy strategy)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        ArgumentNullException.ThrowIfNull(strategy);
        return [.. outcome.Rewards.Select((value, i) => new RewardRecord(strategy.Name, i, value, outcome.VoteSums[i]))];
    }

    private static int? StoredBest(string resultJson)
    {
        using var result = JsonDocument.Parse(resultJson);
        return result.RootElement.TryGetProperty("best", out var best) && best.TryGetInt32(out var value) && value >= 0 ? value : null;
    }
}
