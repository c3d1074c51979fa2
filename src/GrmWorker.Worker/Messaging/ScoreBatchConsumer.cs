using System.Text;
using GrmWorker.Contracts;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Pipeline;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace GrmWorker.Worker.Messaging;

/// <summary>
/// Scores a batch of requests from <c>grm.score</c>: <see cref="JobService"/> (through <see cref="IsolatingJobScorer"/>,
/// so one request's failure stays with it) answers stored requestIds from storage and scores and stores the rest (once
/// across the fleet), then every delivery's result is published with the confirms awaited together. All of it happens
/// inside Consume, so the batch is acked only after every result is committed and confirmed by the broker; a crash
/// before that redelivers, and the redelivery finds the stored results. A requestId another batch of this process is
/// scoring waits for that batch first (<see cref="InFlightRequests"/>).
/// </summary>
public sealed class ScoreBatchConsumer(
    IsolatingJobScorer scorer,
    ResultPublisher publisher,
    WorkerResilience resilience,
    InFlightRequests inFlight,
    WorkerMetrics metrics,
    TimeProvider time,
    ILogger<ScoreBatchConsumer> logger) : IConsumer<Batch<ScoreRequest>>
{
    public async Task Consume(ConsumeContext<Batch<ScoreRequest>> context)
    {
        var cancellationToken = context.CancellationToken;
        WorkerLog.BatchReceived(logger, context.Message.Length);
        metrics.BatchReceived(context.Message.Length);
        var batch = Accept(context.Message, time.GetUtcNow());
        if (batch.Count == 0) return;

        // Held until the results are published: a copy of one of these ids in another batch waits, then finds it stored.
        using var claim = await inFlight.ClaimAsync([.. batch.Select(r => r.RequestId).Distinct(StringComparer.Ordinal)], cancellationToken);
        var outcomes = await scorer.ScoreAsync(batch, cancellationToken);
        var pending = Results(batch, outcomes);
        // A retry publishes only the results not confirmed yet.
        await resilience.Broker.ExecuteAsync(static (state, t) => new ValueTask(state.publisher.PublishAllAsync(state.pending, t)),
            (publisher, pending), cancellationToken);
    }

    private List<ConsumedRequest> Accept(Batch<ScoreRequest> messages, DateTimeOffset received)
    {
        var batch = new List<ConsumedRequest>(messages.Length);
        foreach (var message in messages)
        {
            // The endpoint's filter sends these to the error queue before batching; never let one reach storage.
            if (RequestRules.RequestIdProblem(message.Message.RequestId) is { } problem)
            {
                WorkerLog.Unprocessable(logger, message.MessageId?.ToString(), problem);
                continue;
            }
            batch.Add(new ConsumedRequest(new IncomingRequest(message.Message, Body(message), received), message));
        }
        return batch;
    }

    /// <summary>One result per delivery; a stored one, or a repeat within the batch, counts as a duplicate.</summary>
    private List<OutgoingResult> Results(List<ConsumedRequest> batch, IReadOnlyDictionary<string, JobOutcome> outcomes)
    {
        var pending = new List<OutgoingResult>(batch.Count);
        var published = new HashSet<string>(StringComparer.Ordinal);
        foreach (var request in batch)
        {
            if (!outcomes.TryGetValue(request.RequestId, out var outcome)) continue; // moved to the error queue
            if (!published.Add(request.RequestId) || outcome.WasStored)
            {
                WorkerLog.Duplicate(logger, request.RequestId, outcome.JobId);
                metrics.DuplicateRepublished();
            }
            // To the route of this delivery: whoever re-sends a stored requestId listens on its own route, not on the
            // route of the copy that was stored (the same for a fresh job).
            pending.Add(new OutgoingResult(request.RequestId, RequestRules.RoutingKey(request.Incoming.Request.Route), outcome.ResultJson));
        }
        return pending;
    }

    private static string? Body(ConsumeContext<ScoreRequest> message)
    {
        var bytes = message.ReceiveContext.Body.GetBytes();
        return bytes is { Length: > 0 } ? Encoding.UTF8.GetString(bytes) : null;
    }
}
