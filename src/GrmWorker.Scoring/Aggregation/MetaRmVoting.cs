namespace GrmWorker.Scoring.Aggregation;

/// <summary>
/// Meta-RM guided voting: the meta reward model rates each sample's principles and critique (q_j);
/// only the top k_meta valid samples by q_j vote. Ties in q go to the lower sample index, and a
/// sample without a meta score ranks below every sample with one, so the choice is deterministic.
/// </summary>
public static class MetaRmVoting
{
    public static VoteResult Vote(IReadOnlyList<GrmSample> samples, int responseCount, MetaRmOptions options)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(options);
        var valid = samples.Where(s => s.IsValid).ToArray();
        var voters = valid
            .OrderByDescending(s => s.MetaScore.HasValue)
            .ThenByDescending(s => s.MetaScore ?? double.NegativeInfinity)
            .ThenBy(s => s.Index)
            .Take(options.KMeta(valid.Length));
        return Voting.VoteOver(samples, responseCount, voters);
    }
}
