namespace GrmWorker.Storage;

/// <summary>
/// Which stored jobs a listing or a replay covers; every field set narrows it (null = any). Times compare with
/// <c>created_at</c>, when the job was stored: <see cref="Since"/> inclusive, <see cref="Until"/> exclusive.
/// </summary>
public sealed record JobFilter
{
    /// <summary>Only these requestIds (null: any).</summary>
    public IReadOnlyCollection<string>? RequestIds { get; init; }

    public string? Route { get; init; }

    /// <summary><c>scored</c> | <c>rejected</c> | <c>failed</c>.</summary>
    public string? Status { get; init; }

    public DateTimeOffset? Since { get; init; }

    public DateTimeOffset? Until { get; init; }

    public static JobFilter All { get; } = new();
}
