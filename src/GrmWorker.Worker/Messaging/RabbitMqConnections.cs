using GrmWorker.Worker.Hosting;
using RabbitMQ.Client;

namespace GrmWorker.Worker.Messaging;

/// <summary>
/// The worker's own RabbitMQ.Client connections (results, error queue, gateway, relabel, replay), in one place: the
/// connection settings, a publisher-confirm channel, and the properties of a request sent to the score queue.
/// </summary>
public static class RabbitMqConnections
{
    public static ConnectionFactory Factory(RabbitMqOptions o, string clientName)
    {
        ArgumentNullException.ThrowIfNull(o);
        return new()
        {
            HostName = o.Host,
            Port = o.Port,
            VirtualHost = o.VirtualHost,
            UserName = o.Username,
            Password = o.Password,
            Ssl = new SslOption { Enabled = o.UseTls, ServerName = o.ServerName, CertificateValidationCallback = BrokerTls.Validation(o) },
            ClientProvidedName = clientName,
            AutomaticRecoveryEnabled = true,
        };
    }

    /// <summary>A connection named <paramref name="clientName"/> (as the broker's management UI lists it), recovering on its own.</summary>
    public static Task<IConnection> ConnectAsync(RabbitMqOptions o, string clientName, CancellationToken cancellationToken) =>
        Factory(o, clientName).CreateConnectionAsync(cancellationToken);

    /// <summary>A channel with publisher confirms, tracked: each publish completes once the broker confirmed it, and throws on a nack.</summary>
    public static Task<IChannel> ConfirmedChannelAsync(IConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
    }

    /// <summary>The properties a score request is published to the score queue with: JSON, persistent.</summary>
    public static BasicProperties RequestProperties() => new() { ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };
}
