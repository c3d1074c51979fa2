using GrmWorker.Contracts;

namespace GrmWorker.Worker.Relabel;

/// <summary>
/// Where jobs are scored: the worker through RabbitMQ (<see cref="BrokerRelabelBackend"/>) or in process
/// (<see cref="LocalRelabelBackend"/>). Each submitted job completes exactly once, through the channel writer the
/// backend was made with: with its result, or timed out.
/// </summary>
internal interface IRelabelBackend : IAsyncDisposable
{
    /// <summary>Sends one job; waits while the window of jobs in flight is full.</summary>
    ValueTask SubmitAsync(RelabelJob job, CancellationToken cancellationToken);

    /// <summary>Returns when every submitted job has completed.</summary>
    Task DrainAsync(CancellationToken cancellationToken);
}

/// <summary>A job's end: its result (any status), or null when none came within the timeout.</summary>
internal sealed record JobCompletion(RelabelJob Job, ScoreResult? Result);
