using System.Text;
using GrmWorker.Worker.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace GrmWorker.Worker.Messaging;

/// <summary>
/// Publishes result JSON to the topic exchange (default <c>grm.rewards</c>) with the request's route as routing key,
/// persistent, and waits for the broker's publisher confirm. Plain RabbitMQ.Client rather than MassTransit's send:
/// no envelope and no exchange named after a .NET type; a duplicate's stored result goes out as stored (same
/// content; jsonb may reorder its keys). One channel, used by one batch of publishes at a time.
/// </summary>
public sealed class ResultPublisher(IOptions<RabbitMqOptions> options, ILogger<ResultPublisher> logger) : IAsyncDisposable
{
    private readonly RabbitMqOptions _options = options.Value;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnection? _connection;
    private IChannel? _channel;
    private readonly HashSet<string> _declaredQueues = new(StringComparer.Ordinal);

    /// <summary>The longest AMQP message id, in UTF-8 bytes; a longer requestId is published without one.</summary>
    public const int MaxMessageIdBytes = 255;

    public string Exchange => _options.ResultExchange;

    public Task PublishAsync(string requestId, string routingKey, string resultJson, CancellationToken cancellationToken) =>
        PublishAllAsync([new OutgoingResult(requestId, routingKey, resultJson)], cancellationToken);

    /// <summary>
    /// Publishes every result in <paramref name="pending"/> on the one channel without waiting between them (the
    /// client pipelines them; each publish completes when its confirm arrives) and removes each as the broker
    /// confirms it. On a failure the unconfirmed ones stay in <paramref name="pending"/> and the first error is
    /// thrown, so a retry publishes only those.
    /// </summary>
    public async Task PublishAllAsync(IList<OutgoingResult> pending, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pending);
        if (pending.Count == 0) return;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.PublishTimeout);
        await _gate.WaitAsync(timeout.Token);
        var confirmed = new bool[pending.Count];
        var publishes = new List<Task>(pending.Count);
        Exception? failure = null;
        try
        {
            try
            {
                var channel = await ChannelAsync(timeout.Token);
                foreach (var result in pending)
                {
                    // With confirmation tracking on, each publish completes once the broker confirmed it (throws on a nack).
                    publishes.Add(channel.BasicPublishAsync(_options.ResultExchange, result.RoutingKey, mandatory: false,
                        Properties(result.RequestId), Encoding.UTF8.GetBytes(result.ResultJson), timeout.Token).AsTask());
                }
            }
            catch (Exception ex)
            {
                failure = ex;
            }
            // Every publish started is awaited, also after a failure, so none is left running on the channel.
            for (var i = 0; i < publishes.Count; i++)
            {
                try
                {
                    await publishes[i];
                    confirmed[i] = true;
                }
                catch (Exception ex)
                {
                    failure ??= ex;
                }
            }
        }
        finally
        {
            if (failure is not null)
            {
                // A channel in an unknown state is not reused.
                await ResetAsync();
            }
            _gate.Release();
        }

        for (var i = 0; i < confirmed.Length; i++)
        {
            if (confirmed[i]) WorkerLog.ResultPublished(logger, pending[i].RequestId, _options.ResultExchange, pending[i].RoutingKey);
        }
        for (var i = confirmed.Length - 1; i >= 0; i--)
        {
            if (confirmed[i]) pending.RemoveAt(i);
        }
        if (failure is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            throw new TimeoutException($"no publisher confirm from the broker within {_options.PublishTimeout}", failure);
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
    }

    /// <summary>
    /// Sends one message to <paramref name="queue"/> through the default exchange (declaring the queue durable on first
    /// use) and waits for the broker's confirm: how the worker moves a message to its error queue itself.
    /// </summary>
    public async Task SendToQueueAsync(string queue, ReadOnlyMemory<byte> body, BasicProperties properties, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.PublishTimeout);
        await _gate.WaitAsync(timeout.Token);
        try
        {
            var channel = await ChannelAsync(timeout.Token);
            if (!_declaredQueues.Contains(queue))
            {
                await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, cancellationToken: timeout.Token);
                _declaredQueues.Add(queue);
            }
            await channel.BasicPublishAsync("", queue, mandatory: false, properties, body, timeout.Token);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            await ResetAsync();
            throw new TimeoutException($"no publisher confirm from the broker within {_options.PublishTimeout}", ex);
        }
        catch
        {
            await ResetAsync();
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static BasicProperties Properties(string requestId) => new()
    {
        ContentType = "application/json",
        ContentEncoding = "utf-8",
        DeliveryMode = DeliveryModes.Persistent,
        // An AMQP short string: at most 255 bytes in UTF-8, not characters (a 200-character requestId can be 600 bytes,
        // and the client throws on it, failing the publish of every result of the batch).
        MessageId = Encoding.UTF8.GetByteCount(requestId) <= MaxMessageIdBytes ? requestId : null,
        Type = "grm.score-result",
    };

    private async Task<IChannel> ChannelAsync(CancellationToken cancellationToken)
    {
        if (_channel is { IsOpen: true } open) return open;
        await ResetAsync();
        _connection = await RabbitMqConnections.ConnectAsync(_options, "grm-results", cancellationToken);
        _channel = await RabbitMqConnections.ConfirmedChannelAsync(_connection, cancellationToken);
        await _channel.ExchangeDeclareAsync(_options.ResultExchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        return _channel;
    }

    private async Task ResetAsync()
    {
        _declaredQueues.Clear();
        if (_channel is not null)
        {
            try { await _channel.DisposeAsync(); } catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.RabbitMQClientException or IOException or ObjectDisposedException) { }
            _channel = null;
        }
        if (_connection is not null)
        {
            try { await _connection.DisposeAsync(); } catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.RabbitMQClientException or IOException or ObjectDisposedException) { }
            _connection = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ResetAsync();
        _gate.Dispose();
    }
}

/// <summary>A result to publish: its requestId (message id), routing key and JSON body.</summary>
public sealed record OutgoingResult(string RequestId, string RoutingKey, string ResultJson);
