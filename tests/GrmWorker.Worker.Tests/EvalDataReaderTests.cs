
using GrmWorker.Worker.Evaluation;

namespace GrmWorker.Worker.Tests;

/// <summary>The evaluation JSONL format: what a good line gives, and that a bad line is named by file, line and field.</summary>
public sealed class EvalDataReaderTests
{
    [Fact]
    public void Items_keep_file_order_with_optional_id_and_reference_and_blank_lines_skipped()
    {
        var items = EvalDataReader.Parse("data.jsonl",
        [
            """{"id": "a", "query": "2+2?", "responses": ["4", "5"], "best": 0, "category": "math"}""",
            "",
            """{"query": "Capital of France?", "responses": ["Lyon", "Paris", "Nice"], "best": 1, "reference": "Paris"}""",
        ]);

        Assert.Equal(2, items.Count);
        Assert.Equal(new[] { (0, 1, "a"), (1, 3, (string?)null) }, items.Select(i => (i.Index, i.Line, i.Id)));
        Assert.Equal(["Lyon", "Paris", "Nice"], items[1].Responses);
        Assert.Equal(1, items[1].Best);
        Assert.Equal("Paris", items[1].Reference);
        Assert.Null(items[0].Reference);
    }

    [Theory]
    [InlineData("""{"query": "q", "responses": ["a", "b"]}""", "best", "is missing")]
    [InlineData("""{"query": "q", "responses": ["a", "b"], "best": 2}""", "best", "outside 0..1")]
    [InlineData("""{"query": "q", "responses": ["a", "b"], "best": 0.5}""", "best", "integer")]
    [InlineData("""{"query": "q", "responses": ["a"], "best": 0}""", "responses", "at least 2")]
    [InlineData("""{"query": "q", "responses": ["a", 3], "best": 0}""", "responses[1]", "must be a string")]
    [InlineData("""{"query": "", "responses": ["a", "b"], "best": 0}""", "query", "must not be empty")]
    [InlineData("""{"responses": ["a", "b"], "best": 0}""", "query", "is missing")]
    [InlineData("""{"id": 7, "query": "q", "responses": ["a", "b"], "best": 0}""", "id", "must be a string")]
    [InlineData("""{"query": "q", "responses": ["a", "b"], "best": 0, "reference": []}""", "reference", "must be a string")]
    public void A_bad_line_is_named_by_file_line_and_field(string badLine, string field, string problem)
    {
        string[] lines = ["""{"query": "q", "responses": ["a", "b"], "best": 0}""", badLine];

        var error = Assert.Throws<EvalDataException>(() => EvalDataReader.Parse("held-out.jsonl", lines));

        Assert.Equal(2, error.Line);
        Assert.Equal(field, error.Field);
        Assert.StartsWith($"held-out.jsonl:2: {field}: ", error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void A_line_that_is_not_json_is_named()
    {
        var error = Assert.Throws<EvalDataException>(() => EvalDataReader.Parse("d.jsonl", ["{\"query\": "]));

        Assert.Equal(1, error.Line);
        Assert.StartsWith("d.jsonl:1: not valid JSON", error.Message);
    }

    [Fact]
    public void A_limit_keeps_the_first_items_but_every_line_is_still_checked()
    {
        string[] lines =
        [
            """{"query": "q1", "responses": ["a", "b"], "best": 0}""",
            """{"query": "q2", "responses": ["a", "b"], "best": 1}""",
            """{"query": "q3", "responses": ["a", "b"], "best": 5}""",
        ];

        Assert.Throws<EvalDataException>(() => EvalDataReader.Parse("d.jsonl", lines, limit: 1));
        var items = EvalDataReader.Parse("d.jsonl", lines[..2], limit: 1);
        Assert.Equal("q1", Assert.Single(items).Query);
    }

    [Fact]
    public void A_file_without_items_is_an_error()
    {
        Assert.Throws<EvalDataException>(() => EvalDataReader.Parse("empty.jsonl", ["", "  "]));
    }
}
