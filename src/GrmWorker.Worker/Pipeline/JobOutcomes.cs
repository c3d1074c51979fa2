using GrmWorker.Contracts;
using GrmWorker.Scoring.Aggregation;

namespace GrmWorker.Worker.Pipeline;

/// <summary>
/// Turns a finished <see cref="JobRun"/> (or a rejection) into the <see cref="FinishedJob"/> the worker publishes and
/// stores (<see cref="JobRowMapping"/> makes its rows). A job whose samples all fail to parse gets status <c>failed</c> with code
/// <see cref="ErrorCodes.NoValidSamples"/>, no rewards, and its samples still stored for audit (a random-weight model
/// produces exactly this).
/// </summary>
internal static class JobOutcomes
{
    /// <summary>The strategy name of the rewards rows the live pipeline writes for a job with the default aggregation.</summary>
    public const string ResultStrategy = AggregationKind.Voting;

    public static FinishedJob Finished(JobRun run, string modelId, DateTimeOffset completed)
    {
        var r = run.Request;
        var vote = Aggregator.For(run.Aggregation).Aggregate(run.Samples, run.ResponseCount);
        var scored = vote.SamplesValid > 0 && run.Failure is null;
        var error = scored ? null : run.Failure ?? new ScoreError(ErrorCodes.NoValidSamples,
            $"none of the {vote.SamplesUsed} samples could be parsed (last: {(run.Samples.Count > 0 ? run.Samples[^1].Reason : null) ?? "no samples"})");
        var promptTokens = run.Drawn.Sum(s => (long)s.PromptTokens);
        var generatedTokens = run.Drawn.Sum(s => (long)s.GeneratedTokens);
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
            LatencyMs = (long)run.Incoming.MillisecondsUntil(completed),
            Tokens = new TokenUsage(promptTokens, generatedTokens),
            Metadata = r.Metadata,
        };
        return new FinishedJob { Incoming = run.Incoming, Result = result, CompletedAt = completed, WasRun = true, Samples = [.. run.Drawn] };
    }

    /// <summary>A rejected request: its metadata is echoed when Postgres can store it and it is within <paramref name="limits"/>.</summary>
    public static FinishedJob Rejected(IncomingRequest incoming, ValidationFailure failure, ValidationLimits limits, string? modelId, DateTimeOffset completed) =>
        NotRun(incoming, ScoreStatus.Rejected, new ScoreError(failure.Code, failure.Message), modelId, completed,
            echoMetadata: ScoreRequestValidator.MetadataFits(incoming.Request, limits));

    /// <summary>A request whose every run so far ended with its worker gone; it is not run again (see JobService).</summary>
    public static FinishedJob WorkerLost(IncomingRequest incoming, int runs, string? modelId, DateTimeOffset completed) =>
        NotRun(incoming, ScoreStatus.Failed, new ScoreError(ErrorCodes.WorkerLost,
            $"the request was taken up {runs} times by workers that stopped before they stored it (killed, out of memory?); it is not run again"),
            modelId, completed);

    private static FinishedJob NotRun(IncomingRequest incoming, string status, ScoreError error, string? modelId, DateTimeOffset completed, bool echoMetadata = true)
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
            LatencyMs = (long)incoming.MillisecondsUntil(completed),
            Metadata = !echoMetadata || r.Metadata is { } m && RequestRules.Unstorable(m) is not null ? null : r.Metadata,
        };
        return new FinishedJob { Incoming = incoming, Result = result, CompletedAt = completed < incoming.ReceivedAt ? incoming.ReceivedAt : completed };
    }
}
