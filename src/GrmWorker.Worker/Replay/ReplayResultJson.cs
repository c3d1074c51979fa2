using System.Text.Json;
using System.Text.Json.Nodes;
using GrmWorker.Contracts;
using GrmWorker.Storage;

namespace GrmWorker.Worker.Replay;

/// <summary>
/// The result a replay publishes to <c>grm.rewards</c>: the job's stored result (docs/wire.md, "Result": requestId, route, metadata,
/// model, tokens, latency as they were) with the replay's rewards, voteSums, best, samplesUsed, samplesValid and
/// aggregation, plus <c>strategy</c>, the name the rows are stored under, so a consumer can tell it from the original.
/// </summary>
internal static class ReplayResultJson
{
    public const string StrategyProperty = "strategy";

    public static string Build(JobRecord job, ReplayStrategy strategy, ReplayJobOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(strategy);
        ArgumentNullException.ThrowIfNull(outcome);
        var stored = JsonSerializer.Deserialize<ScoreResult>(job.ResultJson, WireJson.Options)
            ?? throw new InvalidOperationException($"job {job.RequestId} has a null stored result");
        var replayed = stored with
        {
            Status = ScoreStatus.Scored,
            Error = null,
            Rewards = outcome.Rewards,
            VoteSums = outcome.VoteSums,
            Best = outcome.Best,
            SamplesUsed = outcome.SamplesUsed,
            SamplesValid = outcome.SamplesValid,
            Aggregation = strategy.Aggregation,
        };
        var node = JsonSerializer.SerializeToNode(replayed, WireJson.Options)!.AsObject();
        node[StrategyProperty] = strategy.Name;
        return node.ToJsonString(WireJson.Options);
    }
}
