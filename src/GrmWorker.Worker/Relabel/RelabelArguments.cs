namespace GrmWorker.Worker.Relabel;

/// <summary>What `grm relabel` was asked to do (docs/relabel.md).</summary>
internal sealed record RelabelArguments
{
    public const string DefaultRoutePrefix = "relabel";

    public required string Input { get; init; }

    public required string Output { get; init; }

    /// <summary>Default: OUT with <c>.jsonl</c> replaced by <c>.rejects.jsonl</c>.</summary>
    public string? Rejects { get; init; }

    /// <summary>Score in process instead of through the worker.</summary>
    public bool Local { get; init; }

    /// <summary>With <see cref="Local"/>: keep nothing in Postgres.</summary>
    public bool NoStore { get; init; }

    /// <summary>Requests published and waiting for a result at once (broker mode).</summary>
    public int MaxInFlight { get; init; } = 32;

    /// <summary>How long a published request may wait for its result (broker mode).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(30);

    public string RoutePrefix { get; init; } = DefaultRoutePrefix;

    /// <summary>Part of every derived requestId and of the run's route; default: the input file's name.</summary>
    public string? RunKey { get; init; }

    /// <summary>The worker's request queue (default: setting RabbitMq:ScoreQueue).</summary>
    public string? Queue { get; init; }

    /// <summary>GRM model directory for <see cref="Local"/> (default: setting Model:Directory).</summary>
    public string? Model { get; init; }

    public bool Json { get; init; }

    /// <summary>How often a plain progress line is printed when there is no live progress bar.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(10);
}
