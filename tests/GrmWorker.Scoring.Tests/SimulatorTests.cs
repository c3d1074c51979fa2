using GrmWorker.Contracts;
using GrmWorker.Scoring.Simulation;
using GrmWorker.Scoring.Stopping;

namespace GrmWorker.Scoring.Tests;

public class SimulatorTests
{
    private static SimulationReport Run(string kind, SimulationMixture mixture, int kMax = 16, int jobs = 300) =>
        Simulator.Run(new SimulationSettings(mixture, new StoppingOptions { KMax = kMax }, kind, jobs, Seed: 5));

    [Fact]
    public void Full_voting_agrees_with_itself()
    {
        var report = Run(StoppingKind.None, new SimulationMixture());

        Assert.Equal(1.0, report.MeanSamplesFraction);
        Assert.Equal(1.0, report.Top1Agreement);
        Assert.Equal(0.0, report.MeanAbsRewardDiff);
    }

    [Fact]
    public void Adaptive_saves_samples_and_keeps_the_answer_on_the_default_mixture()
    {
        var report = Run(StoppingKind.Adaptive, new SimulationMixture());

        Assert.InRange(report.MeanSamplesFraction, 0.25, 0.9);
        Assert.True(report.Top1Agreement >= 0.97, $"agreement {report.Top1Agreement}");
        Assert.InRange(report.InvalidSampleRate, 0.02, 0.09);
    }

    [Fact]
    public void Simulation_is_deterministic_for_a_seed()
    {
        Assert.Equal(Run(StoppingKind.Adaptive, new SimulationMixture(), jobs: 100), Run(StoppingKind.Adaptive, new SimulationMixture(), jobs: 100));
    }

    [Fact]
    public void Noise_free_jobs_always_agree_and_stop_early_unless_tied()
    {
        var mixture = new SimulationMixture { Noise = 0, SampleOffset = 0, PositionBias = 0, UnparseableRate = 0, NearTieFraction = 0 };

        var report = Run(StoppingKind.Adaptive, mixture, kMax: 32);

        Assert.Equal(1.0, report.Top1Agreement);
        // Responses whose qualities round to the same integer tie in every sample and run to k_max.
        Assert.True(report.MeanSamplesFraction < 0.5, $"fraction {report.MeanSamplesFraction}");
    }
}
