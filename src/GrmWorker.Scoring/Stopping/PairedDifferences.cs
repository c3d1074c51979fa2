namespace GrmWorker.Scoring.Stopping;

/// <summary>
/// Sufficient statistics of the paired differences D_j = S_leader,j − S_rival,j over a job's valid samples, and the
/// lead the rival must make up (<see cref="Needed"/>). <see cref="Count"/> is a double so a projection can add an
/// expected (fractional) number of valid samples.
/// </summary>
internal readonly record struct PairedDifferences(double Count, double Mean, double SumOfSquares, double Needed)
{
    public static PairedDifferences Of(IReadOnlyList<int>[] valid, int leader, int rival, int needed)
    {
        var m = valid.Length;
        var mean = 0.0;
        foreach (var s in valid)
            mean += s[leader] - s[rival];
        mean /= m;
        var ss = 0.0;
        foreach (var s in valid)
        {
            var d = s[leader] - s[rival] - mean;
            ss += d * d;
        }
        return new PairedDifferences(m, mean, ss, needed);
    }

    /// <summary>As if <paramref name="extra"/> more valid samples came at the current mean and spread (none yet: no spread).</summary>
    public PairedDifferences Projected(double extra)
    {
        var spread = Count > 1 ? SumOfSquares / (Count - 1) : 0;
        return new PairedDifferences(Count + extra, Mean, SumOfSquares + spread * extra, Needed + extra * Mean);
    }
}
