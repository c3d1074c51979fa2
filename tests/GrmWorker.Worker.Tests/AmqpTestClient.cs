using System.Text;
using System.Text.Json;
using GrmWorker.Testing;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace GrmWorker.Worker.Tests;

/// <summary>What a trainer would use: plain RabbitMQ.Client, no MassTransit. Publishes raw JSON and reads results.</summary>
public sealed class AmqpTestClient : IAsyncDisposable
{
    private readonly IConnection _connection;
    private readonly IChannel _channel;

    private AmqpTestClient(IConnection connection, IChannel channel)
    {
        _connection = connection;
        _channel = channel;
    }

    public static async Task<AmqpTestClient> ConnectAsync(ConnectionFactory factory)
    {
        IConnection connection;
        try
        {
            connection = await factory.CreateConnectionAsync("grm-app-tests");
        }
        catch (BrokerUnreachableException ex)
        {
            throw new InvalidOperationException(
                $"RabbitMQ is not reachable at {factory.HostName}:{factory.Port} vhost '{factory.VirtualHost}': {ex.InnerException?.Message ?? ex.Message}. {ServiceSettings.Hint}", ex);
        }
        var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        return new AmqpTestClient(connection, channel);
    }

    /// <summary>A server-named exclusive queue bound to the result exchange with <paramref name="bindingKey"/>.</summary>
    public async Task<string> SubscribeAsync(string exchange, string bindingKey)
    {
        await _channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true, autoDelete: false);
        var queue = (await _channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        await _channel.QueueBindAsync(queue, exchange, bindingKey);
        return queue;
    }

    /// <summary>Publishes a body as any AMQP client would: default exchange, routing key = queue, no content type.</summary>
    public async Task PublishAsync(string queue, string body) =>
        await _channel.BasicPublishAsync("", queue, mandatory: false, new BasicProperties { DeliveryMode = DeliveryModes.Persistent }, Encoding.UTF8.GetBytes(body));

    /// <summary>Publishes <paramref name="body"/> as given (any bytes), with a content type when one is named.</summary>
    public async Task PublishBytesAsync(string queue, byte[] body, string? contentType = null) =>
        await _channel.BasicPublishAsync("", queue, mandatory: false,
            new BasicProperties { DeliveryMode = DeliveryModes.Persistent, ContentType = contentType }, body);

    /// <summary>Publishes <paramref name="body"/> with <paramref name="properties"/> as given (message id, reply-to, headers: whatever a sender sets).</summary>
    public async Task PublishWithPropertiesAsync(string queue, byte[] body, BasicProperties properties) =>
        await _channel.BasicPublishAsync("", queue, mandatory: false, properties, body);

    public Task PublishAsync(string queue, object request) => PublishAsync(queue, JsonSerializer.Serialize(request));

    /// <summary>Reads messages until <paramref name="count"/> arrived or the timeout passed; returns what arrived.</summary>
    public async Task<IReadOnlyList<Delivered>> ReadAsync(string queue, int count, TimeSpan timeout)
    {
        var got = new List<Delivered>();
        var deadline = DateTime.UtcNow + timeout;
        while (got.Count < count && DateTime.UtcNow < deadline)
        {
            var message = await _channel.BasicGetAsync(queue, autoAck: true);
            if (message is null)
            {
                await Task.Delay(50);
                continue;
            }
            var headers = message.BasicProperties.Headers?.ToDictionary(
                h => h.Key, h => h.Value is byte[] b ? Encoding.UTF8.GetString(b) : h.Value?.ToString()) ?? [];
            got.Add(new Delivered(message.RoutingKey, Encoding.UTF8.GetString(message.Body.Span), headers));
        }
        return got;
    }

    /// <summary>
    /// Waits until <paramref name="queue"/> exists (a worker declares its queue when its bus starts; a publish before
    /// that is dropped). Fails with <paramref name="log"/> (e.g. the worker's output) after <paramref name="timeout"/>.
    /// </summary>
    public Task WaitForQueueAsync(string queue, TimeSpan timeout, Func<string> log) =>
        Poll.UntilAsync(async () => await CountAsync(queue) is not null, timeout, () => $"queue {queue} was not declared: {log()}", TimeSpan.FromMilliseconds(100));

    /// <summary>Messages in a queue now; null when the queue does not exist (it is declared on first use).</summary>
    public async Task<long?> CountAsync(string queue)
    {
        try
        {
            await using var probe = await _connection.CreateChannelAsync();
            return (await probe.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (OperationInterruptedException)
        {
            return null;
        }
    }

    public async Task DeleteQueueAsync(string queue)
    {
        await using var channel = await _connection.CreateChannelAsync();
        await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
    }

    public async ValueTask DisposeAsync()
    {
        await _channel.DisposeAsync();
        await _connection.DisposeAsync();
    }
}

public sealed record Delivered(string RoutingKey, string Body, IReadOnlyDictionary<string, string?> Headers)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;
}
