namespace GrmWorker.Worker.Replay;

/// <summary>What a replay did with one stored job (one entry of `grm replay --json`'s <c>jobs</c>).</summary>
internal sealed record ReplayJobOutcome
{
    public const string Replayed = "replayed";
    public const string Skipped = "skipped";
    public const string Failed = "failed";

    public required string RequestId { get; init; }
    public long JobId { get; init; }
    public required string Route { get; init; }
    /// <summary><see cref="Replayed"/>, <see cref="Skipped"/> (nothing to aggregate) or <see cref="Failed"/> (this strategy cannot apply).</summary>
    public required string Outcome { get; init; }
    public string? Reason { get; init; }
    public int SamplesUsed { get; init; }
    public int SamplesValid { get; init; }
    /// <summary>Indices of the samples that voted (all valid ones for voting, the top k_meta by meta score for meta-rm).</summary>
    public IReadOnlyList<int> VotingSamples { get; init; } = [];
    public IReadOnlyList<double> Rewards { get; init; } = [];
    public IReadOnlyList<int> VoteSums { get; init; } = [];
    /// <summary>The best response of the stored result (the job's default strategy); null when it has none.</summary>
    public int? StoredBest { get; init; }
    public int Best { get; init; } = -1;
    public bool BestChanged => Outcome == Replayed && StoredBest is { } stored && stored != Best;
    /// <summary>True when this run wrote the rows; false when the job had rows of this strategy already.</summary>
    public bool Written { get; init; }
    public bool Published { get; init; }

    public static ReplayJobOutcome Skip(string requestId, long jobId, string route, string reason) =>
        new() { RequestId = requestId, JobId = jobId, Route = route, Outcome = Skipped, Reason = reason };

    public static ReplayJobOutcome Skip(Storage.StoredJob job, string reason) => Skip(job.Job.RequestId, job.JobId, job.Job.Route, reason);

    public static ReplayJobOutcome Fail(Storage.StoredJob job, string reason) =>
        new() { RequestId = job.Job.RequestId, JobId = job.JobId, Route = job.Job.Route, Outcome = Failed, Reason = reason };
}
