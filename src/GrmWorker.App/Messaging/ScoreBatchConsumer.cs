using System.Text;
using GrmWorker.App.Hosting;
using GrmWorker.App.Pipeline;
using GrmWorker.Contracts;
using GrmWorker.Storage;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace GrmWorker.App.Messaging;

/// <summary>
/// Scores a batch of requests from <c>grm.score</c>. For each request: a known requestId publishes its stored
/// result again (no model run, no rows); otherwise the pipeline scores it, <see cref="JobWriter"/> stores it in one
/// transaction, and the result is published. All of it happens inside Consume, so the batch is acked only after
/// every result is committed and confirmed by the broker; a crash before that redelivers, and the redelivery
/// finds the stored results.
/// </summary>
public sealed class ScoreBatchConsumer(
    ScoringPipeline pipeline,
    JobWriter writer,
    JobReader reader,
    ResultPublisher publisher,
    WorkerResilience resilience,
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

        var fresh = new List<IncomingRequest>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var repeats = new List<string>();
        foreach (var message in context.Message)
        {
            var request = message.Message;
            // The endpoint's filter sends these to the error queue before batching; never let one reach storage.
            if (RequestIdRequiredFilter.Problem(request) is { } problem)
            {
                WorkerLog.Unprocessable(logger, message.MessageId?.ToString(), problem);
                continue;
            }
            if (!seen.Add(request.RequestId))
            {
                repeats.Add(request.RequestId);
                continue;
            }
            if (await StoredAsync(request.RequestId, cancellationToken) is { } stored)
            {
                await RepublishAsync(stored, cancellationToken);
                continue;
            }
            fresh.Add(new IncomingRequest(request, Body(message), received));
        }

        if (fresh.Count > 0)
        {
            var records = await pipeline.RunAsync(fresh, cancellationToken);
            foreach (var record in records)
            {
                // Created is false when another delivery stored this requestId first; its result is the one published.
                var written = await resilience.Storage.ExecuteAsync(static (state, t) => new ValueTask<JobWriteResult>(state.writer.WriteAsync(state.record, t)),
                    (writer, record), cancellationToken);
                if (!written.Created) WorkerLog.Duplicate(logger, record.RequestId, written.JobId);
                await PublishAsync(record.RequestId, record.Route, written.ResultJson, cancellationToken);
            }
        }

        foreach (var requestId in repeats)
        {
            if (await StoredAsync(requestId, cancellationToken) is { } stored)
                await RepublishAsync(stored, cancellationToken);
        }
    }

    private async Task RepublishAsync(StoredResult stored, CancellationToken cancellationToken)
    {
        WorkerLog.Duplicate(logger, stored.RequestId, stored.JobId);
        metrics.DuplicateRepublished();
        await PublishAsync(stored.RequestId, stored.Route, stored.ResultJson, cancellationToken);
    }

    private ValueTask<StoredResult?> StoredAsync(string requestId, CancellationToken cancellationToken) =>
        resilience.Storage.ExecuteAsync(static (state, t) => new ValueTask<StoredResult?>(state.reader.TryGetStoredResultAsync(state.requestId, t)),
            (reader, requestId), cancellationToken);

    private ValueTask PublishAsync(string requestId, string route, string resultJson, CancellationToken cancellationToken) =>
        resilience.Broker.ExecuteAsync(static (state, t) => new ValueTask(state.publisher.PublishAsync(state.requestId, JobOutcomes.RoutingKey(state.route), state.resultJson, t)),
            (publisher, requestId, route, resultJson), cancellationToken);

    private static string? Body(ConsumeContext<ScoreRequest> message)
    {
        var bytes = message.ReceiveContext.Body.GetBytes();
        return bytes is { Length: > 0 } ? Encoding.UTF8.GetString(bytes) : null;
    }
}
