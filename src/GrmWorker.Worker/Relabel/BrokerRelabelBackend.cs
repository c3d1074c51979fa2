using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using GrmWorker.Contracts;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Messaging;
using GrmWorker.Worker.Runs;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace GrmWorker.Worker.Relabel;

/// <summary>
/// Scores through the worker: each request is published (persistent, publisher-confirmed) to the score queue, and
/// results are read from an exclusive queue of this run bound to the result exchange with the run's routes. At most
/// <c>maxInFlight</c> requests wait for a result at once; one with no result within the timeout completes as timed
/// out (a later result for it is ignored; the next run re-sends it and gets the stored result).
/// </summary>
internal sealed class BrokerRelabelBackend : IRelabelBackend
{
    private readonly IConnection _connection;
    private readonly IChannel _publish;
    private readonly IChannel _results;
    private readonly string _queue;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly ChannelWriter<JobCompletion> _completions;
    private readonly SemaphoreSlim _window;
    private readonly ConcurrentDictionary<string, (RelabelJob Job, DateTimeOffset Deadline)> _pending = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private Task _sweeper = Task.CompletedTask;

    private BrokerRelabelBackend(IConnection connection, IChannel publish, IChannel results, string queue, int maxInFlight, TimeSpan timeout,
        TimeProvider time, ChannelWriter<JobCompletion> completions)
    {
        _connection = connection;
        _publish = publish;
        _results = results;
        _queue = queue;
        _timeout = timeout;
        _time = time;
        _completions = completions;
        _window = new SemaphoreSlim(maxInFlight, maxInFlight);
    }

    /// <summary>Connects, checks the score queue exists, and listens on <paramref name="routes"/> before anything is sent.</summary>
    public static async Task<BrokerRelabelBackend> ConnectAsync(RabbitMqOptions options, IReadOnlyCollection<string> routes, int maxInFlight, TimeSpan timeout,
        TimeProvider time, ChannelWriter<JobCompletion> completions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(routes);
        IConnection connection;
        try
        {
            connection = await RabbitMqConnections.ConnectAsync(options, "grm-relabel", cancellationToken);
        }
        catch (BrokerUnreachableException ex)
        {
            throw new RunException(ExitCodes.Unavailable,
                $"RabbitMQ is not reachable at {options.Host}:{options.Port} vhost '{options.VirtualHost}' (settings GRM_RABBITMQ__*): {ex.InnerException?.Message ?? ex.Message}; or pass --local to score in process");
        }
        try
        {
            await RequireQueueAsync(connection, options, cancellationToken);
            var publish = await RabbitMqConnections.ConfirmedChannelAsync(connection, cancellationToken);
            var results = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            var backend = new BrokerRelabelBackend(connection, publish, results, options.ScoreQueue, maxInFlight, timeout, time, completions);
            await backend.ListenAsync(options.ResultExchange, routes, cancellationToken);
            backend._sweeper = backend.SweepAsync();
            return backend;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async ValueTask SubmitAsync(RelabelJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        await _window.WaitAsync(cancellationToken);
        // Registered before the publish: the result may arrive before the confirm does.
        _pending[job.RequestId] = (job, _time.GetUtcNow() + _timeout);
        try
        {
            var properties = RabbitMqConnections.RequestProperties();
            await _publish.BasicPublishAsync("", _queue, mandatory: true, properties, Encoding.UTF8.GetBytes(job.Body), cancellationToken);
        }
        catch (Exception ex)
        {
            if (_pending.TryRemove(job.RequestId, out _)) _window.Release();
            if (ex is PublishException { IsReturn: true })
                throw new RunException(ExitCodes.Unavailable, $"the broker returned line {job.LineNumber}'s request: no queue '{_queue}' takes it any more (is the worker running?)");
            if (ex is RabbitMQClientException or IOException)
                throw new RunException(ExitCodes.Unavailable, $"publishing line {job.LineNumber} to RabbitMQ failed: {ex.Message}");
            throw;
        }
    }

    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        while (!_pending.IsEmpty)
            await Task.Delay(TimeSpan.FromMilliseconds(50), _time, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sweeper;
        await _results.DisposeAsync();
        await _publish.DisposeAsync();
        await _connection.DisposeAsync();
        _stop.Dispose();
        _window.Dispose();
    }

    private static async Task RequireQueueAsync(IConnection connection, RabbitMqOptions options, CancellationToken cancellationToken)
    {
        // A passive declare fails, and closes its channel, when the queue does not exist: a channel of its own.
        await using var probe = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        try
        {
            await probe.QueueDeclarePassiveAsync(options.ScoreQueue, cancellationToken);
        }
        catch (OperationInterruptedException)
        {
            throw new RunException(ExitCodes.Unavailable,
                $"no queue '{options.ScoreQueue}' on {options.Host}:{options.Port} vhost '{options.VirtualHost}': start a worker (grm serve) first, " +
                "or name its queue with --queue (setting RabbitMq:ScoreQueue, env GRM_RABBITMQ__SCOREQUEUE); or pass --local");
        }
    }

    private async Task ListenAsync(string exchange, IReadOnlyCollection<string> routes, CancellationToken cancellationToken) =>
        await ResultQueue.ListenAsync(_results, exchange, routes, Received, cancellationToken);

    private void Received(ReadOnlySpan<byte> body)
    {
        ScoreResult? result;
        try
        {
            result = JsonSerializer.Deserialize<ScoreResult>(body, WireJson.Options);
        }
        catch (JsonException)
        {
            // Not a result of ours (another publisher on the same route): nothing waits for it.
            return;
        }
        if (result is not null && _pending.TryRemove(result.RequestId, out var pending))
        {
            _window.Release();
            _completions.TryWrite(new JobCompletion(pending.Job, result));
        }
    }

    private async Task SweepAsync()
    {
        var period = TimeSpan.FromTicks(Math.Clamp(_timeout.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(1).Ticks));
        using var timer = new PeriodicTimer(period, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                var now = _time.GetUtcNow();
                foreach (var (id, pending) in _pending)
                {
                    if (pending.Deadline <= now && _pending.TryRemove(id, out _))
                    {
                        _window.Release();
                        _completions.TryWrite(new JobCompletion(pending.Job, null));
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // disposed
        }
    }
}
