using GrmWorker.Contracts;
using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Parsing;

namespace GrmWorker.Scoring.Tests;

public class MetaRmVotingTests
{
    private static readonly GrmSample[] Samples =
    [
        GrmSample.FromScores(0, [2, 9], metaScore: 0.1),
        GrmSample.FromScores(1, [8, 3], metaScore: 0.9),
        GrmSample.FromScores(2, [3, 8], metaScore: 0.2),
        GrmSample.FromScores(3, [9, 2], metaScore: 0.8),
        GrmSample.FromScores(4, [7, 4], metaScore: 0.7),
    ];

    [Fact]
    public void Top_half_by_meta_score_votes()
    {
        // k = 5 valid, k_meta = ceil(5/2) = 3: samples 1, 3, 4.
        var result = MetaRmVoting.Vote(Samples, 2, new MetaRmOptions());

        Assert.Equal([1, 3, 4], result.VotingSamples.Order());
        Assert.Equal([24, 9], result.VoteSums);
        Assert.Equal(0, result.Best);
        Assert.Equal(5, result.SamplesValid);
    }

    [Fact]
    public void Plain_voting_over_the_same_samples_can_differ()
    {
        Assert.Equal([29, 26], Voting.Vote(Samples, 2).VoteSums);
    }

    [Fact]
    public void Keep_count_overrides_the_fraction()
    {
        var result = MetaRmVoting.Vote(Samples, 2, new MetaRmOptions(KeepCount: 1));

        Assert.Equal([1], result.VotingSamples);
    }

    [Fact]
    public void Failed_samples_never_vote_however_high_their_meta_score()
    {
        GrmSample[] samples =
        [
            .. Samples,
            GrmSample.Invalid(5, 2, ParseStatus.OutOfRange, "score 1 '11' is outside 1..10") with { MetaScore = 5.0 },
        ];

        var result = MetaRmVoting.Vote(samples, 2, new MetaRmOptions());

        Assert.DoesNotContain(5, result.VotingSamples);
        Assert.Equal(6, result.SamplesUsed);
    }

    [Fact]
    public void Samples_without_a_meta_score_rank_last_and_ties_go_to_the_lower_index()
    {
        GrmSample[] samples =
        [
            GrmSample.FromScores(0, [5, 5]),
            GrmSample.FromScores(1, [6, 5], metaScore: 0.5),
            GrmSample.FromScores(2, [7, 5], metaScore: 0.5),
        ];

        var result = MetaRmVoting.Vote(samples, 2, new MetaRmOptions(KeepCount: 2));

        Assert.Equal([1, 2], result.VotingSamples.Order());
    }

    [Fact]
    public void Aggregator_by_wire_name_replays_stored_samples()
    {
        Assert.Equal([24, 9], Aggregator.For(AggregationKind.MetaRm).Aggregate(Samples, 2).VoteSums);
        Assert.Equal([29, 26], Aggregator.For(AggregationKind.Voting).Aggregate(Samples, 2).VoteSums);
        Assert.Throws<ArgumentException>(() => Aggregator.For("median"));
    }
}
