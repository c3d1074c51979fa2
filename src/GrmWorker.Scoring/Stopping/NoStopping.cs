using GrmWorker.Scoring.Aggregation;

namespace GrmWorker.Scoring.Stopping;

/// <summary>The <c>none</c> rule: always draw k_max samples.</summary>
public sealed class NoStopping(StoppingOptions options) : IStoppingRule
{
    public StoppingOptions Options { get; } = options;

    public StoppingDecision Evaluate(IReadOnlyList<GrmSample> drawn, int responseCount)
    {
        ArgumentNullException.ThrowIfNull(drawn);
        return drawn.Count >= Options.KMax
            ? new StoppingDecision(true, StopReason.KMax, -1, null, null)
            : StoppingDecision.Go(StopReason.Continue);
    }
}
