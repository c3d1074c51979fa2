using System.Text.Json;

namespace GrmWorker.Contracts;

/// <summary>
/// The one terminal result per <see cref="ScoreRequest.RequestId"/>, published to the
/// <c>grm.rewards</c> topic exchange with routing key <see cref="Route"/> (docs/wire.md, "Result").
/// </summary>
public sealed record ScoreResult
{
    public required string RequestId { get; init; }

    public string Route { get; init; } = RequestRules.DefaultRoute;

    /// <summary>A <see cref="ScoreStatus"/> value.</summary>
    public required string Status { get; init; }

    /// <summary>Set unless <see cref="Status"/> is <see cref="ScoreStatus.Scored"/>.</summary>
    public ScoreError? Error { get; init; }

    /// <summary>Mean score per response over the voting samples, in request order.</summary>
    public IReadOnlyList<double> Rewards { get; init; } = [];

    /// <summary>S*_i: the sum of the voting samples' scores per response, in request order.</summary>
    public IReadOnlyList<int> VoteSums { get; init; } = [];

    /// <summary>Request index of the highest vote sum (ties go to the lowest index); -1 when none voted.</summary>
    public int Best { get; init; } = -1;

    public int SamplesUsed { get; init; }

    public int SamplesValid { get; init; }

    public bool StoppedEarly { get; init; }

    /// <summary>An <see cref="AggregationKind"/> value.</summary>
    public string? Aggregation { get; init; }

    public string? ModelId { get; init; }

    public long LatencyMs { get; init; }

    public TokenUsage Tokens { get; init; } = new(0, 0);

    public JsonElement? Metadata { get; init; }
}

/// <summary>Why a request was rejected or failed: a stable machine code and a human message.</summary>
public sealed record ScoreError(string Code, string Message);

/// <summary>Token counts summed over all samples of a job.</summary>
public sealed record TokenUsage(long Prompt, long Generated);
