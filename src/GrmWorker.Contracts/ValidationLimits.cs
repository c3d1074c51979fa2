namespace GrmWorker.Contracts;

/// <summary>Bounds a request must respect before any sample is drawn; bound from configuration section <c>Validation</c>.</summary>
public sealed record ValidationLimits
{
    public const string Section = "Validation";

    /// <summary>
    /// The longest requestId that is answered. It may be lowered (a longer one gets a rejected result) but not raised
    /// above <see cref="RequestRules.MaxRequestIdLength"/>: beyond that a requestId goes to the error queue unanswered.
    /// </summary>
    public int MaxRequestIdLength { get; init; } = RequestRules.MaxRequestIdLength;

    public int MaxRouteLength { get; init; } = 200;

    public int MaxResponses { get; init; } = 64;

    public int MaxQueryChars { get; init; } = 32_000;

    public int MaxResponseChars { get; init; } = 32_000;

    public int MaxReferenceChars { get; init; } = 32_000;

    public int MaxKMax { get; init; } = 64;

    public int MaxNewTokensLimit { get; init; } = 4_096;

    public double MaxTemperature { get; init; } = 2.0;

    /// <summary>
    /// The largest <c>metadata</c>, in bytes of its JSON. Metadata is stored and echoed in the result, the one part of a
    /// result a request sizes: bounded here, a result always fits a message the broker takes.
    /// </summary>
    public int MaxMetadataBytes { get; init; } = 1_048_576;

    /// <summary>Every bad setting, each message naming it; checked when the worker starts.</summary>
    public static IEnumerable<string> Problems(ValidationLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (limits.MaxRequestIdLength is < 1 or > RequestRules.MaxRequestIdLength)
            yield return $"{Section}:MaxRequestIdLength must be 1..{RequestRules.MaxRequestIdLength} (a longer requestId goes to the error queue unanswered)";
        if (limits.MaxResponses < 1) yield return $"{Section}:MaxResponses must be at least 1";
        if (limits.MaxKMax < 1) yield return $"{Section}:MaxKMax must be at least 1";
        if (limits.MaxMetadataBytes < 2) yield return $"{Section}:MaxMetadataBytes must be at least 2 (an empty object)";
        if (limits.MaxNewTokensLimit < 1) yield return $"{Section}:MaxNewTokensLimit must be at least 1";
    }
}

/// <summary>A request that failed validation: a stable code and a message naming the field.</summary>
public sealed record ValidationFailure(string Code, string Message);
