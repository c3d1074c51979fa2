
using GrmWorker.Worker.Runs;

namespace GrmWorker.Worker.Replay;

/// <summary>
/// The summary of one `grm replay` (its `--json` output): counts, then one entry per job. <see cref="BestChanged"/>
/// counts replayed jobs whose best response differs from their stored result's (the job's own strategy).
/// </summary>
internal sealed record ReplayReport
{
    public required string Strategy { get; init; }
    public required string Aggregation { get; init; }
    public int? K { get; init; }
    public string? MetaRmModelId { get; init; }
    public int Selected { get; init; }
    public int Replayed { get; init; }
    /// <summary>Replayed jobs whose rows this run wrote.</summary>
    public int Written { get; init; }
    /// <summary>Replayed jobs that had this strategy's rows already (an earlier run): left as they were.</summary>
    public int AlreadyStored { get; init; }
    public int Skipped { get; init; }
    public int Failed { get; init; }
    public int BestChanged { get; init; }
    public int Published { get; init; }
    /// <summary>Requested requestIds that are not stored.</summary>
    public IReadOnlyList<string> NotFound { get; init; } = [];
    public IReadOnlyList<ReplayJobOutcome> Jobs { get; init; } = [];

    public static ReplayReport From(ReplayStrategy strategy, IReadOnlyList<ReplayJobOutcome> jobs, IReadOnlyList<string> notFound)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        ArgumentNullException.ThrowIfNull(jobs);
        var replayed = jobs.Where(j => j.Outcome == ReplayJobOutcome.Replayed).ToList();
        return new ReplayReport
        {
            Strategy = strategy.Name,
            Aggregation = strategy.Aggregation,
            K = strategy.K,
            MetaRmModelId = strategy.MetaRmModelId,
            Selected = jobs.Count,
            Replayed = replayed.Count,
            Written = replayed.Count(j => j.Written),
            AlreadyStored = replayed.Count(j => !j.Written),
            Skipped = jobs.Count(j => j.Outcome == ReplayJobOutcome.Skipped),
            Failed = jobs.Count(j => j.Outcome == ReplayJobOutcome.Failed),
            BestChanged = replayed.Count(j => j.BestChanged),
            Published = replayed.Count(j => j.Published),
            NotFound = notFound,
            Jobs = jobs,
        };
    }

    /// <summary>1 when a job could not be replayed; else 3 when a requestId is unknown or nothing matched; else 0.</summary>
    public int ExitCode =>
        Failed > 0 ? ExitCodes.Failure
        : NotFound.Count > 0 || Selected == 0 ? ExitCodes.NotFound
        : ExitCodes.Ok;
}
