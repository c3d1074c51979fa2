namespace GrmWorker.Scoring.Aggregation;

/// <summary>
/// How many samples vote under meta-RM guidance: k_meta = ceil(KeepFraction · m) of the m valid
/// samples (the paper's default is half), or exactly <see cref="KeepCount"/> when set; at least one.
/// </summary>
public sealed record MetaRmOptions(double KeepFraction = 0.5, int? KeepCount = null)
{
    public int KMeta(int validSamples)
    {
        if (validSamples <= 0)
            return 0;
        var k = KeepCount ?? (int)Math.Ceiling(KeepFraction * validSamples - 1e-9);
        return Math.Clamp(k, 1, validSamples);
    }
}
