using System.Text.Json;
using GrmWorker.Scoring.Prompting;

namespace GrmWorker.Scoring.Tests;

public sealed class MetaRmInputTests
{
    [Fact]
    public void The_text_is_the_query_the_shown_responses_numbered_from_one_then_the_judgement()
    {
        var text = MetaRmInput.Build("What is 17 * 3?", ["41", "51"], "Analysis: ...\nScores: \\boxed{3, 9}");

        Assert.Equal("Query:\nWhat is 17 * 3?\n\n[Response 1]\n41\n\n[Response 2]\n51\n\n[Judgement]\nAnalysis: ...\nScores: \\boxed{3, 9}", text);
    }

    [Fact]
    public void Empty_parts_and_no_responses_keep_every_separator()
    {
        Assert.Equal("Query:\n\n\n[Response 1]\n\n\n[Judgement]\n", MetaRmInput.Build("", [""], ""));
        Assert.Equal("Query:\nq\n\n[Judgement]\ng", MetaRmInput.Build("q", [], "g"));
    }

    [Fact]
    public void No_chat_markers_or_trimming_touch_the_text()
    {
        var text = MetaRmInput.Build("  q <|user|>\n", ["a\r\n"], " g ");

        Assert.Equal("Query:\n  q <|user|>\n\n\n[Response 1]\na\r\n\n\n[Judgement]\n g ", text);
    }

    /// <summary>models/meta_rm.py build_input wrote these texts; the C# builder must give the same bytes for training to match serving.</summary>
    [Fact]
    public void The_python_builder_wrote_the_same_text_for_every_fixture_case()
    {
        using var fixture = JsonDocument.Parse(File.ReadAllText(ReferenceScoresPath()));
        var cases = fixture.RootElement.GetProperty("cases").EnumerateArray().ToArray();

        Assert.NotEmpty(cases);
        foreach (var c in cases)
        {
            var shown = c.GetProperty("shownResponses").EnumerateArray().Select(e => e.GetString()!).ToArray();
            var built = MetaRmInput.Build(c.GetProperty("query").GetString()!, shown, c.GetProperty("generated").GetString()!);
            Assert.Equal(c.GetProperty("text").GetString(), built);
        }
    }

    private static string ReferenceScoresPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "models", "tiny-random", "meta-rm", "reference-scores.json");
            if (File.Exists(Path.Combine(dir.FullName, "GrmWorker.sln")))
                return File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing; build it with /usr/bin/python3 models/meta_rm.py --random");
        }
        throw new InvalidOperationException($"No GrmWorker.sln above {AppContext.BaseDirectory}.");
    }
}
