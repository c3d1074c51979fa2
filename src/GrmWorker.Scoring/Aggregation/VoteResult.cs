namespace GrmWorker.Scoring.Aggregation;

/// <summary>
/// The outcome of an aggregation, in request order. <see cref="Rewards"/> are mean scores over
/// the voting samples (all zero and <see cref="Best"/> = -1 when no sample voted).
/// </summary>
public sealed record VoteResult(
    IReadOnlyList<double> Rewards,
    IReadOnlyList<int> VoteSums,
    int Best,
    int SamplesUsed,
    int SamplesValid,
    IReadOnlyList<int> VotingSamples)
{
    public bool HasVotes => VotingSamples.Count > 0;
}
