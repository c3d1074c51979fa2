namespace GrmWorker.Contracts;

/// <summary>Bounds a request must respect before any sample is drawn; bound from configuration.</summary>
public sealed record ValidationLimits
{
    public int MaxRequestIdLength { get; init; } = 200;

    public int MaxRouteLength { get; init; } = 200;

    public int MaxResponses { get; init; } = 64;

    public int MaxQueryChars { get; init; } = 32_000;

    public int MaxResponseChars { get; init; } = 32_000;

    public int MaxReferenceChars { get; init; } = 32_000;

    public int MaxKMax { get; init; } = 64;

    public int MaxNewTokensLimit { get; init; } = 4_096;

    public double MaxTemperature { get; init; } = 2.0;
}

/// <summary>A request that failed validation: a stable code and a message naming the field.</summary>
public sealed record ValidationFailure(string Code, string Message);
