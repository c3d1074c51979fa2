using System.Globalization;
using GrmWorker.Contracts;

namespace GrmWorker.Worker.Replay;

/// <summary>
/// What a replay computes, and the strategy name its reward rows are stored under:
/// <c>{aggregation}[:{metaRmModelId}][@k{K}]</c>, e.g. <c>voting@k8</c>, <c>meta-rm</c> (the stored meta scores),
/// <c>meta-rm:tiny-meta-rm@k16</c> (samples re-scored by that meta-RM). <c>voting</c> over all samples is the
/// name the live pipeline stores, so replaying it finds those rows and adds nothing. The same replay always gets
/// the same name, which is what makes it idempotent (rewards are unique per job, strategy and response).
/// </summary>
internal sealed record ReplayStrategy(string Aggregation, int? K, string? MetaRmModelId)
{
    public string Name =>
        Aggregation
        + (MetaRmModelId is { } model ? ":" + model : "")
        + (K is { } k ? "@k" + k.ToString(CultureInfo.InvariantCulture) : "");

    /// <summary>A message naming the option at fault, or null.</summary>
    public string? Problem() =>
        !AggregationKind.IsKnown(Aggregation) ? $"--aggregation must be '{AggregationKind.Voting}' or '{AggregationKind.MetaRm}' (got '{Aggregation}')"
        : K is < 1 ? $"--k must be at least 1 (got {K})"
        : MetaRmModelId is not null && Aggregation != AggregationKind.MetaRm ? "--meta-rm needs --aggregation meta-rm"
        : null;

    public override string ToString() => Name;
}
