using System.Text;
using GrmWorker.App.Hosting;
using GrmWorker.App.Pipeline;
using GrmWorker.Contracts;
using GrmWorker.Storage;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace GrmWorker.App.Messaging;

/// <summary>
/// Scores a batch of requests from <c>grm.score</c>. One lookup finds the requestIds already stored: those publish
/// their stored result again (no model run, no rows). The pipeline scores the rest, <see cref="JobWriter"/> stores
/// them all in one transaction, and every result is published with the confirms awaited together. All of it happens
/// inside Consume, so the batch is acked only after every result is committed and confirmed by the broker; a crash
/// before that redelivers, and the redelivery finds the stored results. A requestId another batch in flight is scoring
/// waits for that batch (<see cref="InFlightRequests"/>), so it is not run twice.
/// </summary>
public sealed class ScoreBatchConsumer(
    ScoringPipeline pipeline,
    JobWriter writer,
    JobReader reader,
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
        var received = time.GetUtcNow();
        WorkerLog.BatchReceived(logger, context.Message.Length);
        metrics.BatchReceived(context.Message.Length);

        // Each delivery gets one result: the first of a requestId is scored (or its stored result republished), a
        // repeat within the batch gets that same result again.
        var deliveries = new List<ConsumeContext<ScoreRequest>>();
        var unique = new HashSet<string>(StringComparer.Ordinal);
        foreach (var message in context.Message)
        {
            // The endpoint's filter sends these to the error queue before batching; never let one reach storage.
            if (RequestIdRequiredFilter.Problem(message.Message) is { } problem)
            {
                WorkerLog.Unprocessable(logger, message.MessageId?.ToString(), problem);
                continue;
            }
            deliveries.Add(message);
            unique.Add(message.Message.RequestId);
        }
        if (deliveries.Count == 0) return;

        // Held until the results are published: a copy of one of these ids in another batch waits, then finds it stored.
        using var claim = await inFlight.ClaimAsync(unique, cancellationToken);
        var stored = await resilience.Storage.ExecuteAsync(
            static (state, t) => new ValueTask<IReadOnlyDictionary<string, StoredResult>>(state.reader.GetStoredResultsAsync(state.unique, t)),
            (reader, unique), cancellationToken);

        var fresh = new List<IncomingRequest>();
        var firstFresh = new HashSet<string>(StringComparer.Ordinal);
        foreach (var message in deliveries)
        {
            var requestId = message.Message.RequestId;
            if (!stored.ContainsKey(requestId) && firstFresh.Add(requestId))
                fresh.Add(new IncomingRequest(message.Message, Body(message), received));
        }

        var outcomes = new Dictionary<string, (long JobId, string Route, string ResultJson)>(StringComparer.Ordinal);
        foreach (var (requestId, s) in stored) outcomes[requestId] = (s.JobId, s.Route, s.ResultJson);
        if (fresh.Count > 0)
        {
            var records = await pipeline.RunAsync(fresh, cancellationToken);
            // Created is false when another delivery stored a requestId first; its stored result is the one published.
            var written = await resilience.Storage.ExecuteAsync(
                static (state, t) => new ValueTask<IReadOnlyList<JobWriteResult>>(state.writer.WriteBatchAsync(state.records, t)),
                (writer, records), cancellationToken);
            for (var i = 0; i < records.Count; i++)
            {
                if (!written[i].Created) WorkerLog.Duplicate(logger, records[i].RequestId, written[i].JobId);
                outcomes[records[i].RequestId] = (written[i].JobId, records[i].Route, written[i].ResultJson);
            }
        }

        var pending = new List<OutgoingResult>(deliveries.Count);
        var published = new HashSet<string>(StringComparer.Ordinal);
        foreach (var message in deliveries)
        {
            var requestId = message.Message.RequestId;
            var (jobId, route, resultJson) = outcomes[requestId];
            if (!published.Add(requestId) || stored.ContainsKey(requestId))
            {
                WorkerLog.Duplicate(logger, requestId, jobId);
                metrics.DuplicateRepublished();
            }
            pending.Add(new OutgoingResult(requestId, JobOutcomes.RoutingKey(route), resultJson));
        }
        // A retry publishes only the results not confirmed yet.
        await resilience.Broker.ExecuteAsync(static (state, t) => new ValueTask(state.publisher.PublishAllAsync(state.pending, t)),
            (publisher, pending), cancellationToken);
    }

    private static string? Body(ConsumeContext<ScoreRequest> message)
    {
        var bytes = message.ReceiveContext.Body.GetBytes();
        return bytes is { Length: > 0 } ? Encoding.UTF8.GetString(bytes) : null;
    }
}
