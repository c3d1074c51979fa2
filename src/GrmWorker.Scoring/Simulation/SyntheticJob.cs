namespace GrmWorker.Scoring.Simulation;

/// <summary>One simulated request: its job seed and the latent quality of each response (request order).</summary>
public sealed record SyntheticJob(long Seed, IReadOnlyList<double> Quality, bool NearTie);
