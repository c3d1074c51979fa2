using System.Text;
using GrmWorker.Contracts;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Pipeline;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace GrmWorker.Worker.Messaging;

/// <summary>
/// Scores a batch of requests from <c>grm.score</c>: <see cref="JobService"/> answers stored requestIds from storage and
/// scores and stores the rest (once across the fleet), then every delivery's result is published with the confirms
/// awaited together. All of it happens inside Consume, so the batch is acked only after every result is committed and
/// confirmed by the broker; a crash before that redelivers, and the redelivery finds the stored results. A requestId
/// another batch of this process is scoring waits for that batch first (<see cref="InFlightRequests"/>).
/// </summary>
public sealed class ScoreBatchConsumer(
    JobService jobs,
    ResultPublisher publisher,
    ErrorQueue errorQueue,
    WorkerResilience resilience,
    InFlightRequests inFlight,
    WorkerMetrics metrics,
    TimeProvider time,
    ILogger<ScoreBatchConsumer> logger) : IConsumer<Batch<ScoreRequest>>
{
    public async Task Consume(ConsumeContext<Batch<ScoreRequest>> context)
    {
        var cancellationToken = context.CancellationToken;
        var received = time.GetUtcNow();
        WorkerLog.BatchReceived(logger, context.Message.Length);
        metrics.BatchReceived(context.Message.Length);

        var requests = new List<IncomingRequest>();
        var deliveries = new Dictionary<string, ConsumeContext<ScoreRequest>>(StringComparer.Ordinal);
        foreach (var message in context.Message)
        {
            // The endpoint's filter sends these to the error queue before batching; never let one reach storage.
            if (RequestRules.RequestIdProblem(message.Message.RequestId) is { } problem)
            {
                WorkerLog.Unprocessable(logger, message.MessageId?.ToString(), problem);
                continue;
            }
            requests.Add(new IncomingRequest(message.Message, Body(message), received));
            deliveries.TryAdd(message.Message.RequestId, message);
        }
        if (requests.Count == 0) return;

        // Held until the results are published: a copy of one of these ids in another batch waits, then finds it stored.
        using var claim = await inFlight.ClaimAsync([.. requests.Select(r => r.Request.RequestId).Distinct(StringComparer.Ordinal)], cancellationToken);
        IReadOnlyDictionary<string, JobOutcome> outcomes;
        try
        {
            outcomes = await jobs.ScoreAndStoreAsync(requests, cancellationToken);
        }
        catch (Exception ex) when (!IsRetried(ex, cancellationToken))
        {
            // One body's failure must not decide its neighbours' fate: each request runs alone, and one that fails on
            // its own goes to the error queue with the reason; the others keep their own results.
            WorkerLog.BatchSplit(logger, ex, requests.Count);
            outcomes = await ScoreOneByOneAsync(requests, deliveries, cancellationToken);
        }

        // Each delivery gets one result; a stored one, or a repeat within the batch, counts as a duplicate.
        var pending = new List<OutgoingResult>(requests.Count);
        var published = new HashSet<string>(StringComparer.Ordinal);
        foreach (var request in requests)
        {
            var requestId = request.Request.RequestId;
            if (!outcomes.TryGetValue(requestId, out var outcome)) continue; // moved to the error queue

            if (!published.Add(requestId) || outcome.WasStored)
            {
                WorkerLog.Duplicate(logger, requestId, outcome.JobId);
                metrics.DuplicateRepublished();
            }
            // To the route of this delivery: whoever re-sends a stored requestId listens on its own route, not on the
            // route of the copy that was stored (the same for a fresh job).
            pending.Add(new OutgoingResult(requestId, RequestRules.RoutingKey(request.Request.Route), outcome.ResultJson));
        }
        // A retry publishes only the results not confirmed yet.
        await resilience.Broker.ExecuteAsync(static (state, t) => new ValueTask(state.publisher.PublishAllAsync(state.pending, t)),
            (publisher, pending), cancellationToken);
    }

    private async Task<IReadOnlyDictionary<string, JobOutcome>> ScoreOneByOneAsync(
        List<IncomingRequest> requests, Dictionary<string, ConsumeContext<ScoreRequest>> deliveries, CancellationToken cancellationToken)
    {
        var outcomes = new Dictionary<string, JobOutcome>(StringComparer.Ordinal);
        foreach (var request in requests.DistinctBy(r => r.Request.RequestId, StringComparer.Ordinal))
        {
            try
            {
                foreach (var (id, outcome) in await jobs.ScoreAndStoreAsync([request], cancellationToken)) outcomes[id] = outcome;
            }
            catch (Exception ex) when (!IsRetried(ex, cancellationToken))
            {
                var delivery = deliveries[request.Request.RequestId];
                var (code, reason) = ErrorQueue.Describe(ex);
                await errorQueue.SendAsync(delivery.ReceiveContext.Body.GetBytes(), delivery.ReceiveContext.ContentType?.MediaType,
                    delivery.MessageId?.ToString(), code, $"requestId {request.Request.RequestId}: {reason}", ex, cancellationToken);
            }
        }
        return outcomes;
    }

    /// <summary>Failures the endpoint retries whole (an outage, a shutdown), rather than a fault of one request.</summary>
    private static bool IsRetried(Exception ex, CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested || ex is OperationCanceledException || WorkerResilience.IsOutage(ex);

    private static string? Body(ConsumeContext<ScoreRequest> message)
    {
        var bytes = message.ReceiveContext.Body.GetBytes();
        return bytes is { Length: > 0 } ? Encoding.UTF8.GetString(bytes) : null;
    }
}
