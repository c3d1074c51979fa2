using GrmWorker.Contracts;
using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Parsing;
using GrmWorker.Scoring.Stopping;
using GrmWorker.Worker.Evaluation;

namespace GrmWorker.Worker.Tests;

/// <summary>The evaluation figures from hand-made samples: ties, invalid greedy samples, the first k samples, meta-RM voters, adaptive stopping.</summary>
public sealed class EvalMetricsTests
{
    // Fixed rounds of 4 from k_min 4, so the hand counts below are whole rounds; adaptive rounds: StoppingTests.
    private static readonly StoppingOptions Stopping = new() { KMin = 4, AdaptiveRounds = false };

    [Fact]
    public void A_tie_for_the_top_vote_sum_counts_as_wrong()
    {
        // Sums [10, 10]: the worker's tie rule would pick response 0, the true best; the evaluation does not count it.
        var item = Item(best: 0, greedy: Scores(0, 6, 4), Scores(0, 6, 4), Scores(1, 4, 6));

        var report = EvalMetrics.Compute([item], [1, 2], Stopping, metaRm: null);

        Assert.Equal(1, report.Voting[1].Correct);
        Assert.Equal(0, report.Voting[2].Correct);
        Assert.False(EvalMetrics.StrictlyHighest([7, 7, 3], 0));
        Assert.True(EvalMetrics.StrictlyHighest([8, 7, 3], 0));
    }

    [Fact]
    public void An_unparsable_greedy_sample_is_wrong_and_lowers_the_greedy_parse_valid_rate()
    {
        var right = Item(best: 1, greedy: Scores(0, 2, 9), Scores(0, 2, 9));
        var unparsed = Item(best: 1, greedy: GrmSample.Invalid(0, 2, ParseStatus.MissingScores, "no Scores line"), Scores(0, 2, 9));

        var report = EvalMetrics.Compute([right, unparsed], [1], Stopping, metaRm: null);

        Assert.Equal(new EvalAccuracy(1, 2), report.Greedy);
        Assert.Equal(0.5, report.GreedyParseValidRate);
        Assert.Equal(1.0, report.ParseValidRate);
        Assert.Equal(1.0, report.Voting[1].Value);
    }

    [Fact]
    public void Voting_at_k_uses_the_first_k_samples_and_skips_invalid_ones()
    {
        // Sample 0 prefers the wrong response; samples 1-3 the right one; sample 2 did not parse.
        var item = Item(best: 1, greedy: Scores(0, 5, 6),
            Scores(0, 9, 1), Scores(1, 3, 8), GrmSample.Invalid(2, 2, ParseStatus.WrongCount, "one score"), Scores(3, 4, 9));

        var report = EvalMetrics.Compute([item], [1, 2, 4], Stopping, metaRm: null);

        Assert.Equal([0, 0, 1], report.Voting.Values.Select(a => a.Correct));
        Assert.Equal([1, 2, 4], report.Voting.Keys);
        Assert.Equal(4, report.Samples);
        Assert.Equal(3, report.ValidSamples);
        Assert.Equal(0.75, report.ParseValidRate);
    }

    [Fact]
    public void Meta_rm_at_k_lets_the_top_half_by_meta_score_vote()
    {
        // Voting over all four is a tie; the two samples the meta-RM rates highest both pick the best response.
        var item = Item(best: 0, greedy: Scores(0, 5, 6),
            Scores(0, 2, 9, meta: 0.1), Scores(1, 9, 2, meta: 0.9), Scores(2, 2, 9, meta: 0.2), Scores(3, 9, 2, meta: 0.8));

        var report = EvalMetrics.Compute([item], [2, 4], Stopping, new MetaRmOptions());

        Assert.Equal(0, report.Voting[2].Correct);
        Assert.Equal(0, report.Voting[4].Correct);
        Assert.NotNull(report.MetaRm);
        // k = 2: k_meta = 1, sample 1 (0.9) votes alone; k = 4: samples 1 and 3 (0.9, 0.8) vote.
        Assert.Equal(1, report.MetaRm[2].Correct);
        Assert.Equal(1, report.MetaRm[4].Correct);
    }

    [Fact]
    public void Adaptive_stopping_replays_the_worker_rounds_on_a_fixed_sample_stream()
    {
        // Unanimous samples settle after the first round of 4; samples that alternate never do, so k_max is drawn.
        var settled = Item(best: 0, greedy: Scores(0, 9, 1), [.. Enumerable.Range(0, 16).Select(j => Scores(j, 9, 1))]);
        var split = Item(best: 0, greedy: Scores(0, 9, 1), [.. Enumerable.Range(0, 16).Select(j => j % 2 == 0 ? Scores(j, 9, 1) : Scores(j, 1, 9))]);
        var rule = StoppingRules.For(StoppingKind.Adaptive, Stopping with { KMax = 16 });

        Assert.Equal(4, EvalMetrics.AdaptiveSamplesUsed(settled.Samples, 2, rule));
        Assert.Equal(16, EvalMetrics.AdaptiveSamplesUsed(split.Samples, 2, rule));
        var report = EvalMetrics.Compute([settled, split], [1, 16], Stopping, metaRm: null);

        Assert.Equal(10, report.Adaptive.MeanSamples);
        Assert.Equal(10.0 / 16, report.Adaptive.SamplesFraction);
        Assert.Equal(new EvalAccuracy(1, 2), report.Adaptive.Accuracy);
        Assert.Equal(new EvalAccuracy(1, 2), report.Voting[16]);
    }

    [Fact]
    public void An_error_bound_sweep_replays_the_same_samples_and_looser_bounds_stop_sooner()
    {
        // Response 0 wins two samples in three by 8 points: a 2% bound wants 12 samples, 30% stops at 8, 60% at the first round.
        var item = Item(best: 0, greedy: Scores(0, 9, 1), [.. Enumerable.Range(0, 16).Select(j => j % 3 == 0 ? Scores(j, 1, 9) : Scores(j, 9, 1))]);

        var report = EvalMetrics.Compute([item], [16], Stopping, metaRm: null, sweepErrorBounds: [0.6, 0.3, Stopping.ErrorBound, 0.3]);

        Assert.Equal(Stopping.ErrorBound, report.Adaptive.ErrorBound);
        Assert.Equal(12, report.Adaptive.MeanSamples);
        Assert.Equal([0.3, 0.6], report.AdaptiveSweep.Select(a => a.ErrorBound));
        Assert.Equal([8.0, 4.0], report.AdaptiveSweep.Select(a => a.MeanSamples));
        Assert.Equal([0.5, 0.25], report.AdaptiveSweep.Select(a => a.SamplesFraction));
    }

    [Fact]
    public void Adaptive_rounds_replay_stops_a_unanimous_item_before_a_fixed_first_round_of_four_would()
    {
        // k_min 2, then rounds of the rule's own size: the skeptical built-in prior wants one sample more than k_min.
        var settled = Item(best: 0, greedy: Scores(0, 9, 1), [.. Enumerable.Range(0, 16).Select(j => Scores(j, 9, 1))]);
        var rule = StoppingRules.For(StoppingKind.Adaptive, new StoppingOptions { KMax = 16 });

        Assert.Equal(3, EvalMetrics.AdaptiveSamplesUsed(settled.Samples, 2, rule));
    }

    [Fact]
    public void Adaptive_stopping_never_draws_more_than_the_largest_k()
    {
        var item = Item(best: 0, greedy: Scores(0, 9, 1), Scores(0, 1, 9), Scores(1, 9, 1));

        var report = EvalMetrics.Compute([item], [1, 2], Stopping, metaRm: null);

        Assert.Equal(2, report.Adaptive.MeanSamples);
        Assert.Equal(1.0, report.Adaptive.SamplesFraction);
    }

    [Fact]
    public void Standard_error_is_the_binomial_one()
    {
        var accuracy = new EvalAccuracy(3, 4);

        Assert.Equal(0.75, accuracy.Value);
        Assert.Equal(Math.Sqrt(0.75 * 0.25 / 4), accuracy.StandardError, 12);
        Assert.Equal(0, new EvalAccuracy(0, 0).StandardError);
    }

    [Fact]
    public void A_sample_ranks_the_best_first_only_when_it_is_valid_and_strictly_on_top()
    {
        Assert.True(EvalMetrics.RanksBestFirst(Scores(0, 3, 8, 5), 1));
        Assert.False(EvalMetrics.RanksBestFirst(Scores(0, 8, 8, 5), 1));
        Assert.False(EvalMetrics.RanksBestFirst(GrmSample.Invalid(0, 3, ParseStatus.Empty, "empty"), 1));
    }

    private static GrmSample Scores(int index, params int[] scores) => GrmSample.FromScores(index, scores);

    private static GrmSample Scores(int index, int a, int b, double meta) => GrmSample.FromScores(index, [a, b], meta);

    private static ItemSamples Item(int best, GrmSample greedy, params GrmSample[] samples)
    {
        var n = greedy.Permutation.Count;
        var item = new EvalItem(0, 1, null, "q", [.. Enumerable.Range(0, n).Select(i => $"r{i}")], best);
        return new ItemSamples(item, samples, greedy);
    }
}
