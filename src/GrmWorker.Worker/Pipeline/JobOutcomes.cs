using System.Text.Json;
using GrmWorker.Contracts;
using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Prompting;
using GrmWorker.Storage;

namespace GrmWorker.Worker.Pipeline;

/// <summary>
/// Turns a finished <see cref="JobRun"/> (or a rejection) into the <see cref="JobRecord"/> that is stored, its
/// result JSON included. A job whose samples all fail to parse gets status <c>failed</c> with code
/// <see cref="ErrorCodes.NoValidSamples"/>, no rewards, and its samples still stored for audit (a random-weight model
/// produces exactly this).
/// </summary>
internal static class JobOutcomes
{
    /// <summary>The strategy name of the rewards rows the live pipeline writes for a job with the default aggregation.</summary>
    public const string ResultStrategy = AggregationKind.Voting;

    public static JobRecord Finished(JobRun run, string modelId, DateTimeOffset completed)
    {
        var r = run.Request;
        var vote = Aggregator.For(run.Aggregation).Aggregate(run.Samples, run.ResponseCount);
        var scored = vote.SamplesValid > 0 && run.Failure is null;
        var error = scored ? null : run.Failure ?? new ScoreError(ErrorCodes.NoValidSamples,
            $"none of the {vote.SamplesUsed} samples could be parsed (last: {(run.Samples.Count > 0 ? run.Samples[^1].Reason : null) ?? "no samples"})");
        var latencyMs = Math.Max(0, (completed - run.Incoming.ReceivedAt).TotalMilliseconds);
        var promptTokens = run.Records.Sum(s => (long)s.PromptTokens);
        var generatedTokens = run.Records.Sum(s => (long)s.GeneratedTokens);
        var result = new ScoreResult
        {
            RequestId = r.RequestId,
            Route = r.Route,
            Status = scored ? ScoreStatus.Scored : ScoreStatus.Failed,
            Error = error,
            Rewards = scored ? vote.Rewards : [],
            VoteSums = scored ? vote.VoteSums : [],
            Best = scored ? vote.Best : -1,
            SamplesUsed = vote.SamplesUsed,
            SamplesValid = vote.SamplesValid,
            StoppedEarly = run.Failure is null && vote.SamplesUsed < run.Rule.Options.KMax,
            Aggregation = run.Aggregation,
            ModelId = modelId,
            LatencyMs = (long)latencyMs,
            Tokens = new TokenUsage(promptTokens, generatedTokens),
            Metadata = r.Metadata,
        };
        return new JobRecord
        {
            RequestId = r.RequestId,
            Route = r.Route,
            Status = result.Status,
            ErrorCode = error?.Code,
            ErrorMessage = error?.Message,
            RequestJson = RequestRules.StorableJson(run.Incoming.BodyJson),
            ResultJson = JsonSerializer.Serialize(result, WireJson.Options),
            ModelId = modelId,
            PromptVersion = PromptBuilder.PromptVersion,
            Aggregation = run.Aggregation,
            SamplesUsed = result.SamplesUsed,
            SamplesValid = result.SamplesValid,
            StoppedEarly = result.StoppedEarly,
            LatencyMs = latencyMs,
            PromptTokens = promptTokens,
            GeneratedTokens = generatedTokens,
            ReceivedAt = run.Incoming.ReceivedAt,
            CompletedAt = completed,
            Responses = r.Responses,
            Samples = run.Records,
            Rewards = scored
                ? [.. vote.Rewards.Select((v, i) => new RewardRecord(run.Aggregation, i, v, vote.VoteSums[i]))]
                : [],
        };
    }

    public static JobRecord Rejected(IncomingRequest incoming, ValidationFailure failure, string? modelId, DateTimeOffset completed) =>
        NotRun(incoming, ScoreStatus.Rejected, new ScoreError(failure.Code, failure.Message), modelId, completed);

    /// <summary>A request whose every run so far ended with its worker gone; it is not run again (see JobService).</summary>
    public static JobRecord WorkerLost(IncomingRequest incoming, int runs, string? modelId, DateTimeOffset completed) =>
        NotRun(incoming, ScoreStatus.Failed, new ScoreError(ErrorCodes.WorkerLost,
            $"the request was taken up {runs} times by workers that stopped before they stored it (killed, out of memory?); it is not run again"),
            modelId, completed);

    private static JobRecord NotRun(IncomingRequest incoming, string status, ScoreError error, string? modelId, DateTimeOffset completed)
    {
        var r = incoming.Request;
        var route = RequestRules.RoutingKey(r.Route);
        var result = new ScoreResult
        {
            RequestId = r.RequestId,
            Route = route,
            Status = status,
            Error = error,
            ModelId = modelId,
            LatencyMs = (long)Math.Max(0, (completed - incoming.ReceivedAt).TotalMilliseconds),
            Metadata = r.Metadata is { } m && RequestRules.Unstorable(m) is not null ? null : r.Metadata,
        };
        return new JobRecord
        {
            RequestId = r.RequestId,
            Route = route,
            Status = status,
            ErrorCode = error.Code,
            ErrorMessage = error.Message,
            RequestJson = RequestRules.StorableJson(incoming.BodyJson),
            ResultJson = JsonSerializer.Serialize(result, WireJson.Options),
            ModelId = modelId,
            ReceivedAt = incoming.ReceivedAt,
            CompletedAt = completed < incoming.ReceivedAt ? incoming.ReceivedAt : completed,
        };
    }
}
