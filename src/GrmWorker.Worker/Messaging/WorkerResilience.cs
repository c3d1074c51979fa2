using System.Net.Sockets;
using GrmWorker.Worker.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using RabbitMQ.Client.Exceptions;

namespace GrmWorker.Worker.Messaging;

/// <summary>
/// Polly pipelines around the worker's I/O: retry with exponential backoff and jitter on transient errors, then a
/// circuit breaker so a dead dependency is not hammered; settings from <see cref="ResilienceOptions"/>. This is the
/// first of two layers (why two: <see cref="ResilienceOptions"/>): when it gives up the exception leaves the consumer,
/// and the endpoint's own retry (see <see cref="ScoreBatchConsumerDefinition"/>) holds the batch, unacked, and tries
/// it again later; stored jobs are then only re-published. Nothing is half-written: a job's rows are one transaction.
/// </summary>
public sealed class WorkerResilience
{
    public WorkerResilience(IOptions<ResilienceOptions> options, ILogger<WorkerResilience> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        Storage = Build("postgres", IsTransientStorage, options.Value, logger);
        Broker = Build("rabbitmq", IsTransientBroker, options.Value, logger);
    }

    /// <summary>Around reads and writes of Postgres.</summary>
    public ResiliencePipeline Storage { get; }

    /// <summary>Around result publishes.</summary>
    public ResiliencePipeline Broker { get; }

    /// <summary>
    /// An outage (Postgres or RabbitMQ unreachable, a circuit open), not a fault of one request: the endpoint retries the
    /// whole batch with backoff. Anything else stays with the request that caused it (see ScoreBatchConsumer).
    /// </summary>
    public static bool IsOutage(Exception ex) =>
        ex is BrokenCircuitException || IsTransientStorage(ex) || IsTransientBroker(ex);

    public static bool IsTransientStorage(Exception ex) => ex switch
    {
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is SocketException or IOException or TimeoutException,
        TimeoutException or SocketException => true,
        _ => false,
    };

    public static bool IsTransientBroker(Exception ex) =>
        ex is BrokerUnreachableException or AlreadyClosedException or OperationInterruptedException or PublishException
            or ConnectFailureException or TimeoutException or IOException or SocketException;

    private static ResiliencePipeline Build(string name, Func<Exception, bool> transient, ResilienceOptions o, ILogger logger)
    {
        var handle = new PredicateBuilder().Handle<Exception>(transient);
        return new ResiliencePipelineBuilder { Name = name }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(transient).Handle<BrokenCircuitException>(),
                MaxRetryAttempts = o.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = o.RetryDelay,
                MaxDelay = o.RetryMaxDelay,
                OnRetry = args =>
                {
                    WorkerLog.TransientRetry(logger, args.Outcome.Exception, name, args.AttemptNumber + 1, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = handle,
                FailureRatio = 0.5,
                MinimumThroughput = 4,
                SamplingDuration = TimeSpan.FromSeconds(30),
                BreakDuration = o.BreakDuration,
            })
            .Build();
    }
}
