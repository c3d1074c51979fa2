using FsCheck;
using FsCheck.Xunit;
using GrmWorker.Contracts;
using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Parsing;
using GrmWorker.Scoring.Sampling;
using GrmWorker.Scoring.Stopping;

namespace GrmWorker.Scoring.Tests;

public class StoppingTests
{
    /// <summary>Draws rounds as the scheduler does until the rule stops; returns samples used.</summary>
    private static int Run(IStoppingRule rule, IReadOnlyList<GrmSample> stream, int n)
    {
        var drawn = 0;
        StoppingDecision? last = null;
        while (true)
        {
            var next = rule.Options.NextDrawCount(drawn, last);
            Assert.True(next > 0, "the scheduler asked for a round past k_max");
            drawn += next;
            last = rule.Evaluate(stream.Take(drawn).ToArray(), n);
            if (last.Stop)
                return drawn;
        }
    }

    [Property(MaxTest = 200)]
    public bool Adaptive_never_exceeds_k_max_and_never_stops_below_k_min(PositiveInt kMaxSeed, PositiveInt kMinSeed, PositiveInt roundSeed, long seed)
    {
        var kMax = kMaxSeed.Get % 40 + 1;
        var options = new StoppingOptions { KMax = kMax, KMin = kMinSeed.Get % kMax + 1, RoundSize = roundSeed.Get % 6 + 1 };
        var rng = new DeterministicRandom((ulong)seed);
        var n = rng.NextInt(1, 4);
        var stream = Enumerable.Range(0, kMax)
            .Select(j => rng.NextDouble() < 0.1
                ? GrmSample.Invalid(j, n, ParseStatus.MissingScores, "cut off")
                : GrmSample.FromScores(j, Enumerable.Range(0, n).Select(_ => rng.NextInt(1, 10)).ToArray()))
            .ToArray();

        var used = Run(new AdaptiveStopping(options), stream, n);

        return used <= options.KMax && used >= options.KMin;
    }

    [Fact]
    public void None_always_draws_k_max()
    {
        var options = new StoppingOptions { KMax = 16 };

        Assert.Equal(16, Run(StoppingRules.For(StoppingKind.None, options), TestSamples.Repeat(16, 10, 1), 2));
    }

    [Theory]
    [InlineData(32, 4, 4)]
    [InlineData(32, 8, 4)]
    [InlineData(8, 4, 2)]
    public void Zero_noise_with_a_clear_winner_stops_at_the_first_allowed_round(int kMax, int kMin, int round)
    {
        var options = new StoppingOptions { KMax = kMax, KMin = kMin, RoundSize = round };

        Assert.Equal(Math.Max(kMin, round), Run(new AdaptiveStopping(options), TestSamples.Repeat(kMax, 8, 3, 5), 3));
    }

    [Theory]
    [InlineData(8, 3, 4)]
    [InlineData(10, 1, 4)]
    [InlineData(6, 5, 2)]
    public void Zero_noise_with_no_error_allowed_stops_at_the_first_round_the_leader_is_certain(int top, int other, int round)
    {
        var options = new StoppingOptions { KMax = 32, KMin = 1, RoundSize = round, ErrorBound = 0, AdaptiveRounds = false };
        var lead = top - other;
        // First round where the lead can no longer be caught: the rival has the higher index, so it
        // must pass the leader, not just draw level: lead·k + 1 > 9·(32 − k).
        var expected = Enumerable.Range(1, 32 / round).Select(r => r * round).First(k => lead * k + 1 > 9 * (32 - k));

        var used = Run(new AdaptiveStopping(options), TestSamples.Repeat(32, top, other), 2);

        Assert.Equal(expected, used);
        Assert.Equal(StopReason.LeaderCertain, new AdaptiveStopping(options).Evaluate(TestSamples.Repeat(expected, top, other), 2).Reason);
    }

    [Fact]
    public void A_job_without_one_parsable_sample_gives_up_after_the_set_number_of_draws()
    {
        var stream = Enumerable.Range(0, 32).Select(j => GrmSample.Invalid(j, 2, ParseStatus.MissingScores, "gibberish")).ToArray();

        var giveUp = new AdaptiveStopping(new StoppingOptions { KMax = 32, KMin = 4, RoundSize = 4, GiveUpAfterInvalidDraws = 8 });
        var never = new AdaptiveStopping(new StoppingOptions { KMax = 32, KMin = 4, RoundSize = 4, GiveUpAfterInvalidDraws = 0 });

        Assert.Equal(8, Run(giveUp, stream, 2));
        Assert.Equal(StopReason.NoValidSamples, giveUp.Evaluate(stream.Take(8).ToArray(), 2).Reason);
        Assert.Equal(32, Run(never, stream, 2));
    }

    [Fact]
    public void One_parsable_sample_keeps_a_job_from_giving_up()
    {
        var stream = Enumerable.Range(0, 32)
            .Select(j => j == 5 ? GrmSample.FromScores(j, [7, 3]) : GrmSample.Invalid(j, 2, ParseStatus.MissingScores, "gibberish"))
            .ToArray();

        var decision = new AdaptiveStopping(new StoppingOptions { KMax = 32 }).Evaluate(stream.Take(8).ToArray(), 2);

        Assert.NotEqual(StopReason.NoValidSamples, decision.Reason);
    }

    [Fact]
    public void An_exact_tie_runs_to_k_max()
    {
        var options = new StoppingOptions { KMax = 32 };

        Assert.Equal(32, Run(new AdaptiveStopping(options), TestSamples.Repeat(32, 6, 6), 2));
    }

    [Fact]
    public void Alternating_winners_keep_drawing()
    {
        var stream = Enumerable.Range(0, 32).Select(j => GrmSample.FromScores(j, j % 2 == 0 ? [9, 3] : [3, 9])).ToArray();

        // Giving up on unparsable jobs is its own setting (tested above); off here.
        Assert.Equal(32, Run(new AdaptiveStopping(new StoppingOptions { GiveUpAfterInvalidDraws = 0 }), stream, 2));
    }

    [Fact]
    public void Change_probability_falls_as_evidence_grows()
    {
        var rule = new AdaptiveStopping(new StoppingOptions { KMin = 1, ErrorBound = 0 });
        var stream = Enumerable.Range(0, 32).Select(j => GrmSample.FromScores(j, j % 3 == 0 ? [6, 7] : [8, 6])).ToArray();

        var p4 = rule.Evaluate(stream[..4], 2).ChangeProbability!.Value;
        var p12 = rule.Evaluate(stream[..12], 2).ChangeProbability!.Value;

        Assert.InRange(p12, 0, p4);
        Assert.InRange(p4, 1e-6, 0.5);
    }

    [Fact]
    public void Failed_samples_count_towards_k_but_do_not_settle_anything()
    {
        var stream = Enumerable.Range(0, 32).Select(j => GrmSample.Invalid(j, 2, ParseStatus.MissingScores, "cut off")).ToArray();

        // Giving up on unparsable jobs is its own setting (tested above); off here.
        Assert.Equal(32, Run(new AdaptiveStopping(new StoppingOptions { GiveUpAfterInvalidDraws = 0 }), stream, 2));
    }

    [Fact]
    public void The_variance_prior_is_scaled_to_the_job_so_a_noisy_grm_keeps_drawing()
    {
        // Same paired differences (+2, +2, +2, +2) for the leader, but the second job's scores swing
        // by ±3 together (a shared per-sample shift): the pooled score variance is large, so the
        // job-scaled prior widens the predictive; the fixed prior does not see it.
        var steady = TestSamples.Repeat(4, 7, 5);
        var swinging = Enumerable.Range(0, 4).Select(j => GrmSample.FromScores(j, j % 2 == 0 ? [10, 8] : [4, 2])).ToArray();
        var rule = new AdaptiveStopping(new StoppingOptions { KMin = 1, ErrorBound = 0 });
        var fixedPrior = new AdaptiveStopping(new StoppingOptions { KMin = 1, ErrorBound = 0, JobScaledPrior = false });

        var pSteady = rule.Evaluate(steady, 2).ChangeProbability!.Value;
        var pSwinging = rule.Evaluate(swinging, 2).ChangeProbability!.Value;
        var pSwingingFixed = fixedPrior.Evaluate(swinging, 2).ChangeProbability!.Value;

        Assert.Equal(pSteady, fixedPrior.Evaluate(steady, 2).ChangeProbability!.Value, 12);
        Assert.True(pSwinging > pSwingingFixed, $"{pSwinging} <= {pSwingingFixed}");
        Assert.Equal(pSwingingFixed, pSteady, 12);
    }

    [Fact]
    public void Unparseable_draws_shrink_the_horizon_the_predictive_looks_at()
    {
        // F counts draws; only the expected valid share of them can vote.
        Assert.Equal(28 * 5 / 6.0, AdaptiveStopping.ExpectedValidDraws(28, 4, 4), 12);
        Assert.Equal(28 * 3 / 6.0, AdaptiveStopping.ExpectedValidDraws(28, 2, 4), 12);
        Assert.Equal(0, AdaptiveStopping.ExpectedValidDraws(0, 4, 32));

        var rule = new AdaptiveStopping(new StoppingOptions { KMin = 1, ErrorBound = 0 });
        var clean = Enumerable.Range(0, 8).Select(j => GrmSample.FromScores(j, j % 3 == 0 ? [6, 7] : [8, 6])).ToArray();
        var failing = clean.Select((s, j) => j % 2 == 1 ? GrmSample.Invalid(j, 2, ParseStatus.MissingScores, "cut off") : s).ToArray();
        var sameValid = clean.Where((_, j) => j % 2 == 0).Select((s, j) => GrmSample.FromScores(j, s.Scores!.ToArray())).ToArray();

        // Four valid of eight drawn, 24 draws left (~12.5 valid) vs four valid of four, 28 left (~23 valid).
        Assert.True(rule.Evaluate(failing, 2).ChangeProbability < rule.Evaluate(sameValid, 2).ChangeProbability);
    }

    [Fact]
    public void Single_response_stops_when_the_mean_is_within_the_width()
    {
        var options = new StoppingOptions { KMax = 32, MeanWidth = 0.2 };
        var steady = TestSamples.Repeat(32, 7);
        var noisy = Enumerable.Range(0, 32).Select(j => GrmSample.FromScores(j, [j % 2 == 0 ? 3 : 9])).ToArray();

        var steadyUsed = Run(new AdaptiveStopping(options), steady, 1);
        var noisyUsed = Run(new AdaptiveStopping(options), noisy, 1);

        // Steady: the shrunk variance is small at once. Noisy (sd 3): only near the end, when few
        // samples are left to move the mean, is the drift below 0.2.
        Assert.InRange(steadyUsed, 4, 16);
        Assert.InRange(noisyUsed, 24, 32);
        Assert.Equal(StopReason.MeanSettled, new AdaptiveStopping(options).Evaluate(steady[..steadyUsed], 1).Reason);
    }

    [Fact]
    public void Mean_width_can_also_hold_rankings()
    {
        var stream = Enumerable.Range(0, 32).Select(j => GrmSample.FromScores(j, [j % 2 == 0 ? 10 : 6, 1])).ToArray();
        var leaderOnly = Run(new AdaptiveStopping(new StoppingOptions()), stream, 2);
        var withWidth = Run(new AdaptiveStopping(new StoppingOptions { MeanWidthForRankings = true }), stream, 2);

        Assert.True(withWidth > leaderOnly, $"{withWidth} <= {leaderOnly}");
    }

    [Fact]
    public void Rounds_start_with_k_min_and_end_at_k_max()
    {
        var options = new StoppingOptions { KMin = 6, KMax = 10, RoundSize = 4 };

        Assert.Equal(6, options.NextDrawCount(0));
        Assert.Equal(4, options.NextDrawCount(6));
        Assert.Equal(0, options.NextDrawCount(10));
        Assert.Equal(2, (options with { KMax = 8 }).NextDrawCount(6));
    }

    [Fact]
    public void Adaptive_rounds_draw_one_at_a_time_near_the_stopping_point_and_whole_rounds_for_a_tie()
    {
        var options = new StoppingOptions { KMax = 32, KMin = 2, RoundSize = 4 };
        var rule = new AdaptiveStopping(options);
        // 7 vs 5 with a little noise: the lead settles within a few more samples.
        var close = new[] { new[] { 7, 5 }, new[] { 6, 5 }, new[] { 7, 6 }, new[] { 8, 5 } }
            .Select((s, j) => GrmSample.FromScores(j, s)).ToArray();
        // An exact tie so far: nothing settles soon, so a whole round.
        var tie = new[] { new[] { 6, 6 }, new[] { 5, 7 }, new[] { 7, 5 }, new[] { 6, 6 } }
            .Select((s, j) => GrmSample.FromScores(j, s)).ToArray();

        var closeDecision = rule.Evaluate(close[..2], 2);
        var tieDecision = rule.Evaluate(tie, 2);

        Assert.Equal(2, options.NextDrawCount(0));
        Assert.False(closeDecision.Stop);
        Assert.InRange(options.NextDrawCount(2, closeDecision), 1, 3);
        Assert.False(tieDecision.Stop);
        Assert.Equal(4, options.NextDrawCount(4, tieDecision));
        Assert.Equal(4, (options with { AdaptiveRounds = false }).NextDrawCount(2, closeDecision));
    }

    [Fact]
    public void Adaptive_rounds_keep_the_agreement_of_rounds_of_one_at_fewer_rounds_on_the_simulator()
    {
        var mixture = new Simulation.SimulationMixture();
        var perSample = Simulation.Simulator.Run(new Simulation.SimulationSettings(mixture, new StoppingOptions { RoundSize = 1 }, StoppingKind.Adaptive, 1500, 5));
        var adaptive = Simulation.Simulator.Run(new Simulation.SimulationSettings(mixture, new StoppingOptions(), StoppingKind.Adaptive, 1500, 5));
        var fixedRounds = Simulation.Simulator.Run(new Simulation.SimulationSettings(mixture, new StoppingOptions { AdaptiveRounds = false }, StoppingKind.Adaptive, 1500, 5));

        Assert.True(adaptive.MeanRounds < perSample.MeanRounds * 0.7, $"rounds {adaptive.MeanRounds} vs {perSample.MeanRounds}");
        Assert.True(adaptive.MeanSamplesFraction < fixedRounds.MeanSamplesFraction, $"samples {adaptive.MeanSamplesFraction} vs fixed {fixedRounds.MeanSamplesFraction}");
        Assert.True(adaptive.Top1Agreement >= 0.99, $"agreement {adaptive.Top1Agreement}");
    }

    [Fact]
    public void Bad_options_are_refused()
    {
        Assert.Throws<ArgumentException>(() => StoppingRules.For(StoppingKind.Adaptive, new StoppingOptions { KMin = 40 }));
        Assert.Throws<ArgumentException>(() => StoppingRules.For("sometimes", new StoppingOptions()));
    }

    [Theory]
    [InlineData(0.0, 1.0, 0.5)]
    [InlineData(1.0, 1.0, 0.75)]
    [InlineData(-2.0, 5.0, 0.050969739)]
    [InlineData(2.015048, 5.0, 0.95)]
    [InlineData(-3.169273, 10.0, 0.005)]
    public void Student_t_distribution_matches_tables(double t, double nu, double expected)
    {
        Assert.Equal(expected, StudentT.Cdf(t, nu), 6);
    }
}
