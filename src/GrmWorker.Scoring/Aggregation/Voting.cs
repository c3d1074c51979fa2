namespace GrmWorker.Scoring.Aggregation;

/// <summary>
/// Plain voting (DeepSeek-GRM): S*_i = Σ_j S_ij over the valid samples, reward_i = S*_i / m.
/// Tie rule for <c>best</c>: the highest vote sum; among equal sums, the lowest request index.
/// The stopping rule uses the same tie rule, so "the leader" means the same thing everywhere.
/// </summary>
public static class Voting
{
    public static VoteResult Vote(IReadOnlyList<GrmSample> samples, int responseCount) =>
        VoteOver(samples, responseCount, samples.Where(s => s.IsValid));

    /// <summary>Votes with a chosen subset of the valid samples; used by meta-RM voting.</summary>
    internal static VoteResult VoteOver(IReadOnlyList<GrmSample> all, int responseCount, IEnumerable<GrmSample> voters)
    {
        ArgumentNullException.ThrowIfNull(all);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(responseCount);
        var sums = new int[responseCount];
        var used = new List<int>();
        foreach (var sample in voters)
        {
            if (!sample.IsValid || sample.Scores!.Count != responseCount)
                continue;
            for (var i = 0; i < responseCount; i++)
                sums[i] += sample.Scores[i];
            used.Add(sample.Index);
        }
        var rewards = sums.Select(s => used.Count == 0 ? 0.0 : (double)s / used.Count).ToArray();
        var best = used.Count == 0 ? -1 : Leader(sums);
        return new VoteResult(rewards, sums, best, all.Count, all.Count(s => s.IsValid), used);
    }

    /// <summary>Index of the largest sum, the lowest index among equals.</summary>
    public static int Leader(IReadOnlyList<int> sums)
    {
        ArgumentNullException.ThrowIfNull(sums);
        var best = 0;
        for (var i = 1; i < sums.Count; i++)
        {
            if (sums[i] > sums[best])
                best = i;
        }
        return best;
    }
}
