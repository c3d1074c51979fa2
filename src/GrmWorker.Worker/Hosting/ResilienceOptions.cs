namespace GrmWorker.Worker.Hosting;

/// <summary>
/// How the worker rides out a Postgres or RabbitMQ outage: section <c>Resilience</c>. Two layers, on purpose:
/// <list type="number">
/// <item>In process (Polly, <see cref="Messaging.WorkerResilience"/>): each Postgres call and each result publish is
/// retried a few times within seconds, with jitter, behind a circuit breaker. It keeps what the batch already did: a
/// blip during the write does not throw away the batch's generated samples (minutes of model time), and the
/// results are not generated twice.</item>
/// <item>The endpoint (MassTransit's message retry, <see cref="Messaging.ScoreBatchConsumerDefinition"/>): when the
/// first layer gives up (an outage longer than seconds), the batch leaves Consume unacked and is tried again with
/// pauses growing to minutes, without holding a database call open; a batch tried again finds the jobs it had stored
/// and only re-publishes them.</item>
/// </list>
/// A batch is tried at most (<see cref="BatchRetryLimit"/> + 1) times, and in each try one call at most
/// (<see cref="MaxRetryAttempts"/> + 1) times; while the circuit is open the calls fail at once instead.
/// </summary>
public sealed class ResilienceOptions
{
    public const string Section = "Resilience";

    /// <summary>Retries of one Postgres call or one publish on a transient error (layer 1).</summary>
    public int MaxRetryAttempts { get; set; } = 4;

    /// <summary>The first retry's pause; each next one doubles, with jitter (layer 1).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest pause between two retries of one call (layer 1).</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the circuit stays open once half the calls of 30 s (4 at least) failed: calls then fail at once (layer 1).</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Retries of a whole batch after layer 1 gave up on an outage (layer 2).</summary>
    public int BatchRetryLimit { get; set; } = 8;

    /// <summary>The shortest pause before a batch is tried again (layer 2).</summary>
    public TimeSpan BatchRetryMinInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest pause before a batch is tried again (layer 2).</summary>
    public TimeSpan BatchRetryMaxInterval { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The step the exponential pauses grow by (layer 2; MassTransit's interval delta).</summary>
    public TimeSpan BatchRetryIntervalDelta { get; set; } = TimeSpan.FromSeconds(2);

    internal static IEnumerable<string> Problems(ResilienceOptions o)
    {
        if (o.MaxRetryAttempts is < 1 or > 100) yield return $"{Section}:MaxRetryAttempts must be 1..100";
        if (o.RetryDelay <= TimeSpan.Zero) yield return $"{Section}:RetryDelay must be positive";
        if (o.RetryMaxDelay < o.RetryDelay) yield return $"{Section}:RetryMaxDelay must be at least {Section}:RetryDelay";
        if (o.BreakDuration < TimeSpan.FromMilliseconds(500)) yield return $"{Section}:BreakDuration must be at least 00:00:00.5";
        if (o.BatchRetryLimit is < 0 or > 100) yield return $"{Section}:BatchRetryLimit must be 0..100";
        if (o.BatchRetryMinInterval <= TimeSpan.Zero) yield return $"{Section}:BatchRetryMinInterval must be positive";
        if (o.BatchRetryMaxInterval < o.BatchRetryMinInterval) yield return $"{Section}:BatchRetryMaxInterval must be at least {Section}:BatchRetryMinInterval";
        if (o.BatchRetryIntervalDelta < TimeSpan.Zero) yield return $"{Section}:BatchRetryIntervalDelta must not be negative";
    }
}
