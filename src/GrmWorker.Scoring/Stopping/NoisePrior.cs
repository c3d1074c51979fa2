using System.Globalization;

namespace GrmWorker.Scoring.Stopping;

/// <summary>
/// A GRM's own score noise, fitted from its samples (<see cref="Fit"/>) and used as the adaptive rule's prior
/// (docs/stopping.md, "A prior fitted to the model"). For a pair of responses (a, b) of one job, the paired
/// differences D_j = S_aj − S_bj of its samples are modelled as Normal(μ_ab, σ²), with σ² varying across pairs as
/// a scaled inverse-χ²(ν0, s0²) and μ_ab ~ Normal(0, σ²/κ0) across pairs.
/// </summary>
/// <param name="DifferenceVariance">s0²: the typical within-pair variance of D (points²).</param>
/// <param name="MeanWeight">κ0 = s0² / τ², where τ² is the spread of the true paired means across pairs.</param>
/// <param name="VarianceWeight">ν0: how much the within-pair variance varies across pairs (large: nearly constant).</param>
/// <param name="Pairs">How many (job, pair) series the fit saw.</param>
public sealed record NoisePrior(double DifferenceVariance, double MeanWeight, double VarianceWeight, int Pairs)
{
    /// <summary>Bounds that keep a fit from a small or odd sample set usable (a prior, not a verdict).</summary>
    public const double MinVarianceWeight = 2, MaxVarianceWeight = 50, MinMeanWeight = 0.02, MinDifferenceVariance = 0.25;

    /// <summary>The fewest valid samples per job for a job to count.</summary>
    public const int MinSamplesPerJob = 4;

    /// <summary>
    /// Method-of-moments fit over jobs with n ≥ 2 responses and at least <see cref="MinSamplesPerJob"/> valid
    /// samples (each sample its scores in request order): s0² pools the within-pair variance of D; τ² is the mean
    /// of D̄² minus its sampling part σ²/m (the pair's orientation is arbitrary, so the prior mean is 0); ν0 matches
    /// the spread of the pairs' sample variances beyond what their own sampling explains (a scaled inverse-χ²
    /// has Var σ² = 2 s0⁴/(ν0 − 4)). Null when fewer than 20 pairs qualify.
    /// </summary>
    public static NoisePrior? Fit(IEnumerable<IReadOnlyList<IReadOnlyList<int>>> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var pairs = new List<(double Mean, double Variance, int M)>();
        foreach (var samples in jobs)
        {
            var m = samples.Count;
            if (m < MinSamplesPerJob) continue;
            var n = samples[0].Count;
            for (var a = 0; a < n; a++)
                for (var b = a + 1; b < n; b++)
                    pairs.Add(PairMoments(samples, a, b));
        }
        if (pairs.Count < 20) return null;
        var within = pairs.Sum(p => p.Variance * (p.M - 1)) / pairs.Sum(p => p.M - 1.0);
        within = Math.Max(within, MinDifferenceVariance);
        var between = pairs.Average(p => p.Mean * p.Mean - within / p.M);
        var meanWeight = between <= 0 ? 1.0 / MinMeanWeight : within / between;
        var sampling = pairs.Average(p => 2 * p.Variance * p.Variance / (p.M + 1.0));
        var meanVar = pairs.Average(p => p.Variance);
        var spread = pairs.Average(p => (p.Variance - meanVar) * (p.Variance - meanVar)) - sampling;
        var varianceWeight = spread <= 0 ? MaxVarianceWeight : 4 + 2 * within * within / spread;
        return new NoisePrior(
            within,
            Math.Max(meanWeight, MinMeanWeight),
            Math.Clamp(varianceWeight, MinVarianceWeight, MaxVarianceWeight),
            pairs.Count);
    }

    /// <summary>These settings as the adaptive rule's prior: fitted values replace the fixed ones and the job-scaled floor.</summary>
    public StoppingOptions ApplyTo(StoppingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options with
        {
            PriorDifferenceVariance = DifferenceVariance, PriorMeanWeight = MeanWeight, PriorVarianceWeight = VarianceWeight,
            JobScaledPrior = false,
        };
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"s0² {DifferenceVariance:0.###}, κ0 {MeanWeight:0.###}, ν0 {VarianceWeight:0.#} ({Pairs} pairs)");

    private static (double Mean, double Variance, int M) PairMoments(IReadOnlyList<IReadOnlyList<int>> samples, int a, int b)
    {
        var m = samples.Count;
        var mean = 0.0;
        foreach (var s in samples) mean += s[a] - s[b];
        mean /= m;
        var ss = 0.0;
        foreach (var s in samples)
        {
            var d = s[a] - s[b] - mean;
            ss += d * d;
        }
        return (mean, ss / (m - 1), m);
    }
}
