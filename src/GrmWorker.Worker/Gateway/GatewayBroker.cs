using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using GrmWorker.Contracts;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Messaging;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace GrmWorker.Worker.Gateway;

/// <summary>
/// The gateway's one broker connection: publishes requests to the score queue (publisher confirms) with the gateway's
/// own route, and hands each result arriving on its private queue to the call waiting for that requestId. After a
/// reconnect the requests still waiting are published again: a worker answers a known requestId with its stored
/// result, so nothing runs twice and no answer is lost with the old queue.
/// </summary>
public sealed class GatewayBroker(IOptions<RabbitMqOptions> rabbit, ILogger<GatewayBroker> logger) : IHostedService, IAsyncDisposable
{
    private readonly RabbitMqOptions _rabbit = rabbit.Value;
    private readonly ConcurrentDictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _publishGate = new(1, 1);
    private IConnection? _connection;
    private IChannel? _channel;

    /// <summary>The routing key results for this gateway carry; every request it sends names it as its route.</summary>
    public string Route { get; } = $"gateway.{Guid.NewGuid():N}";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _connection = await RabbitMqConnections.ConnectAsync(_rabbit, "grm-gateway", cancellationToken);
        _connection.RecoverySucceededAsync += (_, _) => RepublishPendingAsync();
        _channel = await RabbitMqConnections.ConfirmedChannelAsync(_connection, cancellationToken);
        // Named, so the client's topology recovery declares and binds the same queue again after a reconnect.
        await ResultQueue.ListenAsync(_channel, _rabbit.ResultExchange, [Route], Deliver, cancellationToken, queue: $"grm.gateway.{Route["gateway.".Length..]}");
    }

    /// <summary>
    /// Sends <paramref name="request"/> (its route replaced by <see cref="Route"/>) and waits for its result JSON;
    /// a <see cref="TimeoutException"/> after <paramref name="timeout"/>.
    /// </summary>
    public async Task<JsonElement> ScoreAsync(ScoreRequest request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = JsonSerializer.SerializeToUtf8Bytes(request with { Route = Route }, WireJson.Options);
        var pending = _pending.GetOrAdd(request.RequestId, _ => new Pending(body));
        try
        {
            await PublishAsync(body, cancellationToken);
            return await pending.Result.Task.WaitAsync(timeout, cancellationToken);
        }
        finally
        {
            _pending.TryRemove(new KeyValuePair<string, Pending>(request.RequestId, pending));
        }
    }

    private void Deliver(ReadOnlySpan<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            if (document.RootElement.TryGetProperty("requestId", out var id) && id.ValueKind == JsonValueKind.String
                && _pending.TryGetValue(id.GetString()!, out var pending))
                pending.Result.TrySetResult(document.RootElement.Clone());
        }
        catch (JsonException)
        {
            // not a result of ours
        }
    }

    private async Task PublishAsync(byte[] body, CancellationToken cancellationToken)
    {
        var channel = _channel ?? throw new InvalidOperationException("the gateway's broker connection is not started");
        var properties = RabbitMqConnections.RequestProperties();
        await _publishGate.WaitAsync(cancellationToken);
        try
        {
            await channel.BasicPublishAsync("", _rabbit.ScoreQueue, mandatory: false, properties, body, cancellationToken);
        }
        finally
        {
            _publishGate.Release();
        }
    }

    private async Task RepublishPendingAsync()
    {
        foreach (var pending in _pending.Values)
        {
            try
            {
                await PublishAsync(pending.Body, CancellationToken.None);
            }
            catch (Exception ex) when (WorkerResilience.IsTransientBroker(ex))
            {
                GatewayLog.RepublishFailed(logger, ex);
                return;
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var pending in _pending.Values) pending.Result.TrySetCanceled(CancellationToken.None);
        if (_channel is not null) await _channel.CloseAsync(cancellationToken);
        if (_connection is not null) await _connection.CloseAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_channel is not null) await _channel.DisposeAsync();
        if (_connection is not null) await _connection.DisposeAsync();
        _publishGate.Dispose();
    }

    private sealed class Pending(byte[] body)
    {
        public byte[] Body { get; } = body;

        public TaskCompletionSource<JsonElement> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
