namespace GrmWorker.Scoring.Stopping;

/// <summary>
/// A stopping rule's verdict after a round. <see cref="ChangeProbability"/> is the union-bounded
/// probability that the k_max leader differs from <see cref="Leader"/> (0 when certain; null when
/// not computed); <see cref="MeanDriftSd"/> the largest predicted drift of a mean score.
/// </summary>
public sealed record StoppingDecision(bool Stop, StopReason Reason, int Leader, double? ChangeProbability, double? MeanDriftSd)
{
    /// <summary>
    /// With <see cref="StoppingOptions.AdaptiveRounds"/>: how many more draws the rule expects to need before it can
    /// stop (<see cref="StoppingOptions.NextDrawCount(int, StoppingDecision?)"/> caps it by the round size); null:
    /// no estimate, draw a full round.
    /// </summary>
    public int? SuggestedDraws { get; init; }

    public static StoppingDecision Go(StopReason reason) => new(false, reason, -1, null, null);
}
