namespace GrmWorker.App.Hosting;

/// <summary>Broker settings: section <c>RabbitMq</c> (env <c>GRM_RABBITMQ__HOST</c>, ...). The password is never logged.</summary>
public sealed class RabbitMqOptions
{
    public const string Section = "RabbitMq";

    public string Host { get; set; } = "localhost";

    public int Port { get; set; } = 5672;

    public string VirtualHost { get; set; } = "/";

    public string Username { get; set; } = "";

    public string Password { get; set; } = "";

    public bool UseTls { get; set; }

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
    }
}
