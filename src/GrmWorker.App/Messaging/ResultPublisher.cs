using System.Text;
using GrmWorker.App.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace GrmWorker.App.Messaging;

/// <summary>
/// Publishes result JSON to the topic exchange (default <c>grm.rewards</c>) with the request's route as routing key,
/// persistent, and waits for the broker's publisher confirm. Plain RabbitMQ.Client rather than MassTransit's send:
/// no envelope and no exchange named after a .NET type; a duplicate's stored result goes out as stored (same
/// content; jsonb may reorder its keys). One channel, used by one publish at a time.
/// </summary>
public sealed class ResultPublisher(IOptions<RabbitMqOptions> options, ILogger<ResultPublisher> logger) : IAsyncDisposable
{
    private readonly RabbitMqOptions _options = options.Value;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnection? _connection;
    private IChannel? _channel;

    public string Exchange => _options.ResultExchange;

    public async Task PublishAsync(string requestId, string routingKey, string resultJson, CancellationToken cancellationToken)
    {
        var body = Encoding.UTF8.GetBytes(resultJson);
        var properties = new BasicProperties
        {
            ContentType = "application/json",
            ContentEncoding = "utf-8",
            DeliveryMode = DeliveryModes.Persistent,
            MessageId = requestId.Length <= 255 ? requestId : null,
            Type = "grm.score-result",
        };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.PublishTimeout);
        await _gate.WaitAsync(timeout.Token);
        try
        {
            var channel = await ChannelAsync(timeout.Token);
            // With confirmation tracking on, this returns once the broker confirmed (and throws on a nack).
            await channel.BasicPublishAsync(_options.ResultExchange, routingKey, mandatory: false, properties, body, timeout.Token);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            await ResetAsync();
            throw new TimeoutException($"no publisher confirm from the broker within {_options.PublishTimeout}", ex);
        }
        catch
        {
            // A channel in an unknown state is not reused.
            await ResetAsync();
            throw;
        }
        finally
        {
            _gate.Release();
        }
        WorkerLog.ResultPublished(logger, requestId, _options.ResultExchange, routingKey);
    }

    private async Task<IChannel> ChannelAsync(CancellationToken cancellationToken)
    {
        if (_channel is { IsOpen: true } open) return open;
        await ResetAsync();
        _connection = await RabbitMqConnections.Factory(_options, "grm-results").CreateConnectionAsync(cancellationToken);
        _channel = await _connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
        await _channel.ExchangeDeclareAsync(_options.ResultExchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        return _channel;
    }

    private async Task ResetAsync()
    {
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

/// <summary>Connection settings shared by the worker's own RabbitMQ.Client connections.</summary>
internal static class RabbitMqConnections
{
    public static ConnectionFactory Factory(RabbitMqOptions o, string clientName) => new()
    {
        HostName = o.Host,
        Port = o.Port,
        VirtualHost = o.VirtualHost,
        UserName = o.Username,
        Password = o.Password,
        Ssl = new SslOption { Enabled = o.UseTls, ServerName = o.Host },
        ClientProvidedName = clientName,
        AutomaticRecoveryEnabled = true,
    };
}
