using GrmWorker.Cli.Views;
using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Parsing;
using GrmWorker.Scoring.Sampling;
using GrmWorker.Storage;
using GrmWorker.Worker.Pipeline;

namespace GrmWorker.Worker.Tests;

/// <summary>A sample goes into its row and comes back the same; replay, the meta-RM rescorer and `grm jobs show` agree on which rows vote.</summary>
public sealed class SampleRowMappingTests
{
    [Fact]
    public void A_parsed_sample_comes_back_from_its_row_unchanged()
    {
        var sample = new GrmSample(3, 42, new Permutation([2, 0, 1]), ParseStatus.Ok, null, [7, 2, 9],
            [new Principle("be right", 0.5), new Principle("be brief", null)], ["good", null, "bad\0byte"], 1.25);

        var row = SampleRowMapping.ToRecord(new DrawnSample(sample, "raw", 100, 20, TimeSpan.FromMilliseconds(5)));
        var back = SampleRowMapping.ToSample(row, 3, row.MetaScore);

        Assert.Equal(SampleRowMapping.OkStatusName, row.ParseStatus);
        Assert.DoesNotContain(row.Critiques, c => c.Text.Contains('\0', StringComparison.Ordinal));
        Assert.Equal((sample.Index, sample.Seed, sample.Status, sample.MetaScore, sample.PromptVersion),
            (back.Index, back.Seed, back.Status, back.MetaScore, back.PromptVersion));
        Assert.Equal(sample.Permutation.Order, back.Permutation.Order);
        Assert.Equal(sample.Scores!, back.Scores!);
        Assert.Equal(sample.Principles, back.Principles);
        Assert.Equal(["good", null, "bad\uFFFDbyte"], back.Critiques);
    }

    [Fact]
    public void An_unparsed_sample_keeps_its_status_and_reason()
    {
        var sample = GrmSample.Invalid(0, 2, ParseStatus.WrongCount, "two scores expected", 7);

        var back = SampleRowMapping.ToSample(SampleRowMapping.ToRecord(new DrawnSample(sample, "", 1, 1, TimeSpan.Zero)), 2, null);

        Assert.Equal((ParseStatus.WrongCount, "two scores expected"), (back.Status, back.Reason));
        Assert.False(back.IsValid);
    }

    [Fact]
    public void Every_parse_status_has_a_distinct_name()
    {
        var names = Enum.GetValues<ParseStatus>().Select(SampleRowMapping.ParseStatusName).ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(SampleRowMapping.OkStatusName, SampleRowMapping.ParseStatusName(ParseStatus.Ok));
    }

    [Theory]
    [InlineData("ok", new[] { 0, 1 }, true)]
    [InlineData("ok", new[] { 0 }, false)]
    [InlineData("ok", new[] { 0, 2 }, false)]
    [InlineData("wrong_count", new[] { 0, 1 }, false)]
    public void Replay_and_the_trace_agree_on_which_rows_vote(string status, int[] responseIndexes, bool valid)
    {
        var row = new SampleRecord
        {
            SampleIndex = 0,
            Seed = 1,
            Permutation = [0, 1],
            RawText = "",
            ParseStatus = status,
            PromptVersion = "v1",
            Scores = [.. responseIndexes.Select(i => new ScoreRecord(i, 5))],
        };

        Assert.Equal(valid, SampleRowMapping.IsValid(row, 2));
        Assert.Equal(valid, SampleRowMapping.ToSample(row, 2, null).IsValid);
        Assert.Equal(valid, TraceSample.From(row, 2).Valid);
    }
}
