using System.Text;

namespace GrmWorker.Scoring.Sampling;

/// <summary>
/// Seeds for a job and its samples. The job seed is the request's <c>seed</c> or, when absent, a
/// stable 64-bit hash of the <c>requestId</c> (FNV-1a over UTF-8, then mixed) — never
/// <see cref="string.GetHashCode()"/>, which is randomised per process. Sample j's seed mixes the job
/// seed with j, so a re-run of the same request draws the same permutations and sampler seeds.
/// </summary>
public static class SeedDerivation
{
    private const ulong FnvOffset = 0xCBF29CE484222325UL;
    private const ulong FnvPrime = 0x100000001B3UL;
    private const ulong SampleStride = 0x9E3779B97F4A7C15UL;

    public static long JobSeed(string requestId, long? requestSeed)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        return requestSeed ?? StableHash(requestId);
    }

    /// <summary>The seed of sample <paramref name="sampleIndex"/> (0-based) of a job.</summary>
    public static long SampleSeed(long jobSeed, int sampleIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sampleIndex);
        var z = unchecked((ulong)jobSeed + SampleStride * (ulong)(sampleIndex + 1));
        return unchecked((long)DeterministicRandom.Mix(z));
    }

    /// <summary>FNV-1a 64 over the UTF-8 bytes, finished with the SplitMix64 mixer.</summary>
    public static long StableHash(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var hash = FnvOffset;
        foreach (var b in Encoding.UTF8.GetBytes(text))
            hash = unchecked((hash ^ b) * FnvPrime);
        return unchecked((long)DeterministicRandom.Mix(hash));
    }
}
