using FsCheck;
using FsCheck.Xunit;
using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Parsing;
using GrmWorker.Scoring.Sampling;

namespace GrmWorker.Scoring.Tests;

public class VotingTests
{
    [Fact]
    public void Vote_sums_scores_and_rewards_are_means()
    {
        var samples = TestSamples.FromRows([7, 3], [9, 4], [8, 5]);

        var result = Voting.Vote(samples, 2);

        Assert.Equal([24, 12], result.VoteSums);
        Assert.Equal([8.0, 4.0], result.Rewards);
        Assert.Equal(0, result.Best);
        Assert.Equal(3, result.SamplesValid);
    }

    [Fact]
    public void Failed_samples_are_counted_but_do_not_vote()
    {
        var samples = TestSamples.FromRows([7, 3], [9, 4])
            .Append(GrmSample.Invalid(2, 2, ParseStatus.WrongCount, "expected 2 scores, found 1"))
            .ToArray();

        var result = Voting.Vote(samples, 2);

        Assert.Equal(3, result.SamplesUsed);
        Assert.Equal(2, result.SamplesValid);
        Assert.Equal([0, 1], result.VotingSamples);
        Assert.Equal([8.0, 3.5], result.Rewards);
    }

    [Fact]
    public void Tie_goes_to_the_lowest_request_index()
    {
        var result = Voting.Vote(TestSamples.FromRows([5, 8, 8], [5, 7, 7]), 3);

        Assert.Equal(1, result.Best);
    }

    [Fact]
    public void No_valid_sample_gives_no_best()
    {
        var result = Voting.Vote([GrmSample.Invalid(0, 2, ParseStatus.Empty, "no generated text")], 2);

        Assert.Equal(-1, result.Best);
        Assert.False(result.HasVotes);
        Assert.Equal([0.0, 0.0], result.Rewards);
    }

    [Property]
    public bool Vote_sums_do_not_depend_on_the_shown_order(PositiveInt size, long seed)
    {
        // The same judgements shown in different orders must add up to the same request-order sums.
        var n = size.Get % 6 + 1;
        var rng = new DeterministicRandom((ulong)seed);
        var judgements = Enumerable.Range(0, 8).Select(_ => Enumerable.Range(0, n).Select(_ => rng.NextInt(1, 10)).ToArray()).ToArray();
        var direct = Voting.Vote(judgements.Select((s, j) => GrmSample.FromScores(j, s)).ToArray(), n);
        var shuffled = judgements.Select((requestOrder, j) =>
        {
            var permutation = Permutation.FromSeed(n, SeedDerivation.SampleSeed(seed, j));
            var parsed = new ParsedOutput(ParseStatus.Ok, null, permutation.ToShown(requestOrder), [], new string?[n], null);
            return GrmSample.FromParsed(j, 0, permutation, parsed);
        }).Reverse().ToArray();
        var viaShuffle = Voting.Vote(shuffled, n);
        return direct.VoteSums.SequenceEqual(viaShuffle.VoteSums) && direct.Best == viaShuffle.Best;
    }
}
