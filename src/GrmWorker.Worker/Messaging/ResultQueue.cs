using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace GrmWorker.Worker.Messaging;

/// <summary>
/// The listening side of the result exchange, as every reader of results sets it up (the gateway, `grm relabel`, the
/// pipeline bench): the topic exchange declared, an exclusive auto-delete queue bound with the reader's routes, and
/// each result body handed to a callback (auto-ack).
/// </summary>
public static class ResultQueue
{
    /// <summary>
    /// Declares <paramref name="exchange"/> and a queue (<paramref name="queue"/>, or a server-named one when null),
    /// binds it with each of <paramref name="routes"/> and starts consuming; <paramref name="received"/> gets each body
    /// (valid only during the call) on the channel's consumer thread. Returns the queue's name.
    /// </summary>
    public static async Task<string> ListenAsync(IChannel channel, string exchange, IEnumerable<string> routes, Action<ReadOnlySpan<byte>> received,
        CancellationToken cancellationToken, string? queue = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(routes);
        ArgumentNullException.ThrowIfNull(received);
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        var name = (await channel.QueueDeclareAsync(queue ?? "", durable: false, exclusive: true, autoDelete: true, cancellationToken: cancellationToken)).QueueName;
        foreach (var route in routes)
            await channel.QueueBindAsync(name, exchange, route, cancellationToken: cancellationToken);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            received(delivery.Body.Span);
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(name, autoAck: true, consumer, cancellationToken);
        return name;
    }
}
