namespace GrmWorker.Worker.Hosting;

/// <summary>How the worker batches and what a request gets when it leaves a field out: section <c>Worker</c>.</summary>
public sealed class WorkerOptions
{
    public const string Section = "Worker";

    /// <summary>Most requests gathered into one batch (one batched generation per round).</summary>
    public int BatchMessageLimit { get; set; } = 16;

    /// <summary>How long a batch waits to fill before it runs with what it has.</summary>
    public TimeSpan BatchTimeLimit { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Batches in flight at once. Generation itself runs one at a time (one model); a second batch lets one batch's
    /// validation, prompt encoding, parsing and Postgres write overlap the other's generation.
    /// </summary>
    public int ConcurrencyLimit { get; set; } = 2;

    /// <summary>Longest one generation round may run; past it the round's jobs get a <c>failed</c> result (<c>generation_timeout</c>).</summary>
    public TimeSpan RoundTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a claim on a request (taken in Postgres before generating, renewed every third of this while it runs)
    /// keeps other workers from running it. When a worker dies, its requests wait this long before another takes them.
    /// </summary>
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a worker looks for the stored result of a request another worker is scoring.</summary>
    public TimeSpan ClaimPollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Runs of one request (taken over from workers that died while running it) before it gets a <c>failed</c> result (<c>worker_lost</c>) instead.</summary>
    public int MaxRunAttempts { get; set; } = 3;

    public double DefaultTemperature { get; set; } = 0.5;

    public int DefaultMaxNewTokens { get; set; } = 512;

    public string DefaultStopping { get; set; } = "adaptive";

    public string DefaultAggregation { get; set; } = "voting";

    /// <summary>Nucleus sampling mass for every sample (1 = off).</summary>
    public double TopP { get; set; } = 1.0;

    internal static IEnumerable<string> Problems(WorkerOptions o, int prefetch)
    {
        if (o.BatchMessageLimit < 1) yield return $"{Section}:BatchMessageLimit must be at least 1";
        if (o.BatchTimeLimit <= TimeSpan.Zero) yield return $"{Section}:BatchTimeLimit must be positive";
        if (o.RoundTimeout <= TimeSpan.Zero) yield return $"{Section}:RoundTimeout must be positive";
        if (o.ClaimLease < TimeSpan.FromSeconds(1)) yield return $"{Section}:ClaimLease must be at least 1 second";
        if (o.ClaimPollInterval <= TimeSpan.Zero) yield return $"{Section}:ClaimPollInterval must be positive";
        if (o.MaxRunAttempts < 1) yield return $"{Section}:MaxRunAttempts must be at least 1";
        if (o.ConcurrencyLimit < 1) yield return $"{Section}:ConcurrencyLimit must be at least 1";
        if (prefetch < o.BatchMessageLimit)
            yield return $"{RabbitMqOptions.Section}:Prefetch ({prefetch}) must be at least {Section}:BatchMessageLimit ({o.BatchMessageLimit})";
        if (o.DefaultTemperature is < 0 or > 2 || double.IsNaN(o.DefaultTemperature)) yield return $"{Section}:DefaultTemperature must be 0..2";
        if (o.DefaultMaxNewTokens < 1) yield return $"{Section}:DefaultMaxNewTokens must be at least 1";
        if (!Contracts.StoppingKind.IsKnown(o.DefaultStopping)) yield return $"{Section}:DefaultStopping must be 'adaptive' or 'none'";
        if (o.DefaultAggregation != Contracts.AggregationKind.Voting) yield return $"{Section}:DefaultAggregation must be 'voting' (a request asks for 'meta-rm' itself, where the worker has a meta-RM)";
        if (o.TopP is <= 0 or > 1 || double.IsNaN(o.TopP)) yield return $"{Section}:TopP must be in (0, 1]";
    }
}
