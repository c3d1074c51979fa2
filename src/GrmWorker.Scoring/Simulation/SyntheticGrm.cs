using System.Globalization;
using System.Text;
using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Parsing;
using GrmWorker.Scoring.Sampling;

namespace GrmWorker.Scoring.Simulation;

/// <summary>
/// A stand-in for the GRM: writes GRM-shaped TEXT for each sample, which then goes through the
/// real seed derivation, permutation, output parser and permutation inverse — the same path a
/// model's output takes — so only the model itself is simulated.
/// </summary>
public sealed class SyntheticGrm(SimulationMixture mixture)
{
    // Separates the noise stream from the permutation stream drawn from the same sample seed.
    private const ulong NoiseStream = 0xD1B54A32D192ED03UL;

    public SimulationMixture Mixture { get; } = mixture;

    public SyntheticJob DrawJob(long jobSeed)
    {
        var rng = new DeterministicRandom(unchecked((ulong)jobSeed));
        var n = rng.NextInt(Mixture.MinResponses, Mixture.MaxResponses);
        var quality = new double[n];
        for (var i = 0; i < n; i++)
            quality[i] = Mixture.QualityLow + rng.NextDouble() * (Mixture.QualityHigh - Mixture.QualityLow);
        var nearTie = n >= 2 && rng.NextDouble() < Mixture.NearTieFraction;
        if (nearTie)
            MakeNearTie(quality, rng);
        return new SyntheticJob(jobSeed, quality, nearTie);
    }

    /// <summary>Sample <paramref name="index"/> of a job, as the pipeline would store it.</summary>
    public GrmSample DrawSample(SyntheticJob job, int index)
    {
        ArgumentNullException.ThrowIfNull(job);
        var n = job.Quality.Count;
        var seed = SeedDerivation.SampleSeed(job.Seed, index);
        var permutation = Permutation.FromSeed(n, seed);
        var rng = new DeterministicRandom(unchecked((ulong)seed ^ NoiseStream));
        var text = Write(ShownScores(job, permutation, rng), rng);
        return GrmSample.FromParsed(index, seed, permutation, GrmOutputParser.Parse(text, n));
    }

    private void MakeNearTie(double[] quality, DeterministicRandom rng)
    {
        var order = Enumerable.Range(0, quality.Length).OrderByDescending(i => quality[i]).ToArray();
        quality[order[1]] = quality[order[0]] - rng.NextDouble() * Mixture.NearTieGap;
    }

    private int[] ShownScores(SyntheticJob job, Permutation permutation, DeterministicRandom rng)
    {
        var n = job.Quality.Count;
        var shift = Mixture.SampleOffset * rng.NextGaussian();
        var scores = new int[n];
        for (var p = 0; p < n; p++)
        {
            // +bias/2 at the first position down to -bias/2 at the last.
            var bias = n == 1 ? 0 : Mixture.PositionBias * (0.5 - (double)p / (n - 1));
            var latent = job.Quality[permutation.Order[p]] + shift + bias + Mixture.Noise * rng.NextGaussian();
            scores[p] = (int)Math.Clamp(Math.Round(latent, MidpointRounding.AwayFromZero), GrmOutputParser.MinScore, GrmOutputParser.MaxScore);
        }
        return scores;
    }

    private string Write(int[] shown, DeterministicRandom rng)
    {
        var text = new StringBuilder();
        text.Append("Specific Criteria: 1. Correctness (50%). 2. Helpfulness (30%). 3. Clarity (20%).\n");
        text.Append("Analysis:\n");
        for (var p = 0; p < shown.Length; p++)
            text.Append(CultureInfo.InvariantCulture, $"- **Response {p + 1}**: meets the criteria to degree {shown[p]}.\n");
        if (rng.NextDouble() >= Mixture.UnparseableRate)
            return text.Append(CultureInfo.InvariantCulture, $"Scores: \\boxed{{{string.Join(", ", shown)}}}\n").ToString();
        // The ways real samples fail: cut off by max tokens, a score missing, a score off the scale.
        return rng.NextInt(3) switch
        {
            0 => text.ToString()[..(text.Length / 2)],
            1 => text.Append(CultureInfo.InvariantCulture, $"Scores: \\boxed{{{string.Join(", ", shown.Skip(1))}}}\n").ToString(),
            _ => text.Append(CultureInfo.InvariantCulture, $"Scores: \\boxed{{{string.Join(", ", shown.Select(s => s * 10))}}}\n").ToString(),
        };
    }
}
