using GrmWorker.Contracts;

namespace GrmWorker.Scoring.Stopping;

/// <summary>Picks a stopping rule by its wire name (<c>adaptive</c> | <c>none</c>).</summary>
public static class StoppingRules
{
    public static IStoppingRule For(string kind, StoppingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { } problem)
            throw new ArgumentException(problem, nameof(options));
        return kind switch
        {
            StoppingKind.Adaptive => new AdaptiveStopping(options),
            StoppingKind.None => new NoStopping(options),
            _ => throw new ArgumentException($"unknown stopping rule '{kind}'", nameof(kind)),
        };
    }
}
