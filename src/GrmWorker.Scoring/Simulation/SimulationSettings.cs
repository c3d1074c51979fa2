using GrmWorker.Scoring.Stopping;

namespace GrmWorker.Scoring.Simulation;

/// <summary>One simulator setting: the mixture, the rule under test (k_max inside), how many jobs, the seed.</summary>
public sealed record SimulationSettings(SimulationMixture Mixture, StoppingOptions Stopping, string StoppingKind, int Jobs, long Seed);
