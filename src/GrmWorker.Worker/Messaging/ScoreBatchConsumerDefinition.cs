using GrmWorker.Worker.Hosting;
using MassTransit;
using MassTransit.Middleware;
using Microsoft.Extensions.Options;

namespace GrmWorker.Worker.Messaging;

/// <summary>
/// The <c>grm.score</c> endpoint: raw JSON in (no envelope, any AMQP client; a body without content type is read
/// as JSON), batches per <see cref="WorkerOptions"/>, prefetch per <see cref="RabbitMqOptions"/>. No retry here:
/// transient failures are retried with backoff, and every message the worker cannot answer ends in
/// <c>grm.score_error</c> once, through <see cref="ErrorQueue"/>; nothing is left in <c>_skipped</c>.
/// </summary>
public sealed class ScoreBatchConsumerDefinition : ConsumerDefinition<ScoreBatchConsumer>
{
    private readonly RabbitMqOptions _rabbit;
    private readonly WorkerOptions _worker;
    private readonly ResilienceOptions _resilience;

    public ScoreBatchConsumerDefinition(IOptions<RabbitMqOptions> rabbit, IOptions<WorkerOptions> worker, IOptions<ResilienceOptions> resilience)
    {
        ArgumentNullException.ThrowIfNull(rabbit);
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(resilience);
        _rabbit = rabbit.Value;
        _worker = worker.Value;
        _resilience = resilience.Value;
        EndpointName = _rabbit.ScoreQueue;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<ScoreBatchConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        endpointConfigurator.ConfigureConsumeTopology = false;
        endpointConfigurator.PublishFaults = false;
        // Plain JSON whatever the content type says: a MassTransit envelope or XML is then a body without a
        // requestId (error queue, with the reason), never a message for a type nobody consumes.
        endpointConfigurator.ClearSerialization();
        endpointConfigurator.UseRawJsonSerializer(RawSerializerOptions.AnyMessageType, isDefault: true);
        endpointConfigurator.UseRawJsonDeserializer(RawSerializerOptions.AnyMessageType, isDefault: true);
        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
            rabbit.PrefetchCount = _rabbit.Prefetch;
        endpointConfigurator.UseFilter(new RequestIdRequiredFilter());
        endpointConfigurator.ConfigureError(error =>
        {
            error.UseFilter(new MalformedRequestErrorFilter(context));
            error.UseFilter(new ErrorQueueFilter(context));
        });
        endpointConfigurator.ConfigureDeadLetter(dead => dead.UseFilter(new NotConsumedFilter(context)));
        // The second retry layer (why two: ResilienceOptions): when the Polly pipelines inside give up (a longer
        // outage), the batch stays unacked and is retried here, with growing pauses; stored jobs are then only re-published.
        consumerConfigurator.UseMessageRetry(r =>
        {
            var o = _resilience;
            r.Exponential(o.BatchRetryLimit, o.BatchRetryMinInterval, o.BatchRetryMaxInterval, o.BatchRetryIntervalDelta);
            r.Handle<Exception>(WorkerResilience.IsOutage);
        });
        consumerConfigurator.Options<BatchOptions>(o => o
            .SetMessageLimit(_worker.BatchMessageLimit)
            .SetTimeLimit(_worker.BatchTimeLimit)
            .SetConcurrencyLimit(_worker.ConcurrencyLimit));
    }
}
