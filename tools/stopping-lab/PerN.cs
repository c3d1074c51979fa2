using GrmWorker.Scoring.Stopping;
using GrmWorker.Scoring.Aggregation;
sealed class PerNRule(StoppingOptions options, double[] factor) : IStoppingRule
{
    readonly Dictionary<int, AdaptiveStopping> _rules = new();
    public StoppingOptions Options { get; } = options;
    public StoppingDecision Evaluate(IReadOnlyList<GrmSample> drawn, int n)
    {
        if (!_rules.TryGetValue(n, out var r)) _rules[n] = r = new AdaptiveStopping(Options with { ErrorBound = Options.ErrorBound / factor[Math.Min(n, factor.Length - 1)] });
        return r.Evaluate(drawn, n);
    }
}
