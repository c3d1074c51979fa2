namespace GrmWorker.Worker.Hosting;

/// <summary>Broker settings: section <c>RabbitMq</c> (env <c>GRM_RABBITMQ__HOST</c>, ...). The password is never logged.</summary>
public sealed class RabbitMqOptions
{
    public const string Section = "RabbitMq";

    public string Host { get; set; } = "localhost";

    public int Port { get; set; } = 5672;

    public string VirtualHost { get; set; } = "/";

    public string Username { get; set; } = "";

    public string Password { get; set; } = "";

    /// <summary>Connect with TLS (the broker's TLS port, usually 5671, goes in <see cref="Port"/>).</summary>
    public bool UseTls { get; set; }

    /// <summary>
    /// PEM file of the CA that signed the broker's certificate, trusted instead of the system store (a private CA);
    /// empty: the system store. The host name is checked either way.
    /// </summary>
    public string TlsCaFile { get; set; } = "";

    /// <summary>The name the broker's certificate must carry; empty: <see cref="Host"/>.</summary>
    public string TlsServerName { get; set; } = "";

    internal string ServerName => string.IsNullOrWhiteSpace(TlsServerName) ? Host : TlsServerName;

    /// <summary>Unacked deliveries the worker holds; at least one full batch (<see cref="WorkerOptions.BatchMessageLimit"/>).</summary>
    public int Prefetch { get; set; } = 32;

    /// <summary>The queue requests arrive on (default exchange, routing key = queue name).</summary>
    public string ScoreQueue { get; set; } = "grm.score";

    /// <summary>The topic exchange results go to, routing key = the request's route.</summary>
    public string ResultExchange { get; set; } = "grm.rewards";

    /// <summary>How long one result publish may wait for the broker's confirm.</summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(30);

    internal static IEnumerable<string> Problems(RabbitMqOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.Host)) yield return $"{Section}:Host is required";
        if (o.Port is < 1 or > 65535) yield return $"{Section}:Port must be 1..65535";
        if (string.IsNullOrWhiteSpace(o.Username)) yield return $"{Section}:Username is required (env GRM_RABBITMQ__USERNAME)";
        if (o.Prefetch is < 1 or > ushort.MaxValue) yield return $"{Section}:Prefetch must be 1..65535";
        if (string.IsNullOrWhiteSpace(o.ScoreQueue)) yield return $"{Section}:ScoreQueue is required";
        if (string.IsNullOrWhiteSpace(o.ResultExchange)) yield return $"{Section}:ResultExchange is required";
        if (o.PublishTimeout <= TimeSpan.Zero) yield return $"{Section}:PublishTimeout must be positive";
        if (!string.IsNullOrWhiteSpace(o.TlsCaFile) && !o.UseTls) yield return $"{Section}:TlsCaFile is set but {Section}:UseTls is false";
        if (o.UseTls && !string.IsNullOrWhiteSpace(o.TlsCaFile) && !File.Exists(o.TlsCaFile))
            yield return $"{Section}:TlsCaFile '{o.TlsCaFile}' does not exist";
    }
}
