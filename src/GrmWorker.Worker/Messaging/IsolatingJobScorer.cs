using GrmWorker.Worker.Pipeline;
using Microsoft.Extensions.Logging;

namespace GrmWorker.Worker.Messaging;

/// <summary>
/// <see cref="JobService"/> for a consumed batch, with per-message isolation: one body's failure must not decide its
/// neighbours' fate. A batch that fails for a reason that is not an outage or a shutdown is scored again one request at
/// a time; a request that fails on its own goes to the error queue with the reason, the others keep their results.
/// Outages and shutdowns propagate, for MassTransit to retry the whole batch.
/// </summary>
public sealed class IsolatingJobScorer(JobService jobs, ErrorQueue errorQueue, ILogger<IsolatingJobScorer> logger)
{
    /// <returns>The outcome of every request that has one; a request sent to the error queue has none.</returns>
    public async Task<IReadOnlyDictionary<string, JobOutcome>> ScoreAsync(IReadOnlyList<ConsumedRequest> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        try
        {
            return await jobs.ScoreAndStoreAsync([.. batch.Select(r => r.Incoming)], cancellationToken);
        }
        catch (Exception ex) when (!IsRetried(ex, cancellationToken))
        {
            WorkerLog.BatchSplit(logger, ex, batch.Count);
            return await ScoreOneByOneAsync(batch, cancellationToken);
        }
    }

    private async Task<IReadOnlyDictionary<string, JobOutcome>> ScoreOneByOneAsync(IReadOnlyList<ConsumedRequest> batch, CancellationToken cancellationToken)
    {
        var outcomes = new Dictionary<string, JobOutcome>(StringComparer.Ordinal);
        foreach (var request in batch.DistinctBy(r => r.RequestId, StringComparer.Ordinal))
        {
            try
            {
                foreach (var (id, outcome) in await jobs.ScoreAndStoreAsync([request.Incoming], cancellationToken)) outcomes[id] = outcome;
            }
            catch (Exception ex) when (!IsRetried(ex, cancellationToken))
            {
                var delivery = request.Delivery;
                var (code, reason) = ErrorQueue.Describe(ex);
                await errorQueue.SendAsync(delivery.ReceiveContext.Body.GetBytes(), delivery.ReceiveContext.ContentType?.MediaType,
                    delivery.MessageId?.ToString(), code, $"requestId {request.RequestId}: {reason}", ex, cancellationToken);
            }
        }
        return outcomes;
    }

    /// <summary>Failures the endpoint retries whole (an outage, a shutdown), rather than a fault of one request.</summary>
    private static bool IsRetried(Exception ex, CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested || ex is OperationCanceledException || WorkerResilience.IsOutage(ex);
}
