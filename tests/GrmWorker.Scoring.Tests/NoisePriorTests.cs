using GrmWorker.Scoring.Sampling;
using GrmWorker.Scoring.Simulation;
using GrmWorker.Scoring.Stopping;

namespace GrmWorker.Scoring.Tests;

public class NoisePriorTests
{
    [Fact]
    public void The_fit_recovers_the_within_pair_variance_and_the_spread_of_the_means()
    {
        // Two responses per job; true paired mean μ ~ N(0, 2²), each sample's difference μ + N(0, 1.5²), scores
        // kept well inside 1..10 so clamping does not bias the moments (rounding adds about 1/6 per score).
        var rng = new DeterministicRandom(42);
        var jobs = new List<IReadOnlyList<IReadOnlyList<int>>>();
        for (var j = 0; j < 600; j++)
        {
            var mu = 2.0 * rng.NextGaussian();
            jobs.Add(Enumerable.Range(0, 32).Select(_ =>
            {
                var d = mu + 1.5 * rng.NextGaussian();
                return (IReadOnlyList<int>)[(int)Math.Round(5.5 + d / 2), (int)Math.Round(5.5 - d / 2)];
            }).ToArray());
        }

        var prior = NoisePrior.Fit(jobs)!;

        // Var(D) = 1.5² + rounding of two scores (≈ 2 · 1/12) ≈ 2.42; κ0 = Var(D) / τ² ≈ 2.42 / 4.
        Assert.InRange(prior.DifferenceVariance, 2.1, 2.8);
        Assert.InRange(prior.MeanWeight, 0.45, 0.8);
        Assert.Equal(600, prior.Pairs);
    }

    [Fact]
    public void Too_few_pairs_give_no_fit()
    {
        var few = Enumerable.Range(0, 5).Select(_ => (IReadOnlyList<IReadOnlyList<int>>)Enumerable.Repeat((IReadOnlyList<int>)[6, 4], 8).ToArray());

        Assert.Null(NoisePrior.Fit(few));
    }

    [Fact]
    public void Fitting_the_simulator_prior_keeps_agreement_and_spends_fewer_samples_than_the_built_in_prior()
    {
        var mixture = new SimulationMixture();
        var fitted = Simulator.FitNoisePrior(mixture, seed: 11, jobs: 1000, samplesPerJob: 32)!;
        var builtIn = Simulator.Run(new SimulationSettings(mixture, new StoppingOptions(), "adaptive", 2000, 12));
        var withFit = Simulator.Run(new SimulationSettings(mixture, fitted.ApplyTo(new StoppingOptions()), "adaptive", 2000, 12));

        Assert.True(withFit.MeanSamplesFraction < builtIn.MeanSamplesFraction - 0.03, $"{withFit.MeanSamplesFraction} vs {builtIn.MeanSamplesFraction}");
        Assert.True(withFit.Top1Agreement >= 0.985, $"agreement {withFit.Top1Agreement}");
        Assert.False(fitted.ApplyTo(new StoppingOptions()).JobScaledPrior);
    }
}
