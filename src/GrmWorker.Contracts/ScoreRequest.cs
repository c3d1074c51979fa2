using System.Text.Json;

namespace GrmWorker.Contracts;

/// <summary>
/// One scoring job as it arrives on the <c>grm.score</c> queue (docs/wire.md, "Request"). Optional fields are
/// null when the sender left them out; the pipeline fills in its configured defaults.
/// </summary>
public sealed record ScoreRequest
{
    /// <summary>The idempotency key: a known id is never scored twice. Empty when missing (rejected by validation).</summary>
    public string RequestId { get; init; } = "";

    /// <summary>Routing key of the result on the <c>grm.rewards</c> exchange.</summary>
    public string Route { get; init; } = RequestRules.DefaultRoute;

    public string Query { get; init; } = "";

    public IReadOnlyList<string> Responses { get; init; } = [];

    public string? Reference { get; init; }

    public int? KMax { get; init; }

    public int? KMin { get; init; }

    public double? Temperature { get; init; }

    public int? MaxNewTokens { get; init; }

    /// <summary>Makes the run reproducible; when null the seed derives from <see cref="RequestId"/>.</summary>
    public long? Seed { get; init; }

    /// <summary><see cref="StoppingKind"/> value, or null for the worker's default.</summary>
    public string? Stopping { get; init; }

    /// <summary><see cref="AggregationKind"/> value, or null for the worker's default.</summary>
    public string? Aggregation { get; init; }

    /// <summary>Any JSON value the sender wants back; echoed untouched.</summary>
    public JsonElement? Metadata { get; init; }
}
