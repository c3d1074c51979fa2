namespace GrmWorker.Scoring.Simulation;

/// <summary>
/// The synthetic GRM of <c>grm simulate</c>. Defaults were fixed before the stopping rule was
/// tuned and are meant to be an honest, somewhat pessimistic picture of a sampled GRM at
/// temperature ~0.5 (docs/stopping.md, "Default mixture"):
/// <list type="bullet">
/// <item>2–4 responses per job, latent quality uniform on [2, 9] points;</item>
/// <item>10% of jobs forced to a near tie: the runner-up within 0.25 points of the best (ties also
/// arise naturally from the uniform draw);</item>
/// <item>per-sample noise: an independent Normal(0, 1.0) per response, plus a Normal(0, 0.5) shift
/// shared by all responses of the sample (a harsh or lenient critique);</item>
/// <item>position bias: the first shown response gains 0.5 points over the last, linear between;</item>
/// <item>scores rounded to integers and clamped to 1..10; 5% of samples unparseable.</item>
/// </list>
/// </summary>
public sealed record SimulationMixture
{
    public int MinResponses { get; init; } = 2;

    public int MaxResponses { get; init; } = 4;

    public double QualityLow { get; init; } = 2.0;

    public double QualityHigh { get; init; } = 9.0;

    public double NearTieFraction { get; init; } = 0.10;

    public double NearTieGap { get; init; } = 0.25;

    /// <summary>Sd of the independent per-response, per-sample noise (points).</summary>
    public double Noise { get; init; } = 1.0;

    /// <summary>Sd of the per-sample shift shared by all responses (points).</summary>
    public double SampleOffset { get; init; } = 0.5;

    /// <summary>Points the first shown position gains over the last (linear in between).</summary>
    public double PositionBias { get; init; } = 0.5;

    public double UnparseableRate { get; init; } = 0.05;

    /// <summary>A message naming the first bad setting, or null.</summary>
    public string? Validate() =>
        MinResponses < 1 || MaxResponses < MinResponses ? "responses: need 1 <= min <= max"
        : QualityHigh < QualityLow ? "quality: need low <= high"
        : NearTieFraction is < 0 or > 1 ? "near-tie-fraction must be in [0, 1]"
        : NearTieGap < 0 ? "near-tie-gap must be >= 0"
        : Noise < 0 || SampleOffset < 0 ? "noise and sample-offset must be >= 0"
        : UnparseableRate is < 0 or > 1 ? "unparseable-rate must be in [0, 1]"
        : null;
}
