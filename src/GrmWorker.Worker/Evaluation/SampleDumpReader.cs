using System.Text.Json;
using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Parsing;
using GrmWorker.Scoring.Sampling;
using GrmWorker.Worker.Pipeline;

namespace GrmWorker.Worker.Evaluation;

/// <summary>
/// Reads a `grm eval --dump-samples` file (<see cref="SampleDumpWriter"/>) back into each item's sample stream, in
/// item then sample order, for `grm stopping`. Only what stopping and voting need is kept: scores (request order),
/// validity, permutation, meta score, the true best. Errors name the line.
/// </summary>
public static class SampleDumpReader
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static async Task<IReadOnlyList<DumpedItem>> ReadAsync(string path, CancellationToken cancellationToken)
    {
        var items = new List<DumpedItem>();
        var lineNumber = 0;
        await foreach (var line in File.ReadLinesAsync(path, cancellationToken))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var d = Parse(path, lineNumber, line);
            if (items.Count == 0 || items[^1].Item != d.Item)
            {
                if (items.Any(i => i.Item == d.Item)) throw new EvalDataException($"{path}:{lineNumber}: item {d.Item} again after other items; the file is not a dump in item order");
                items.Add(new DumpedItem(d.Item, d.Id, d.Best, d.Permutation!.Count, []));
            }
            var item = items[^1];
            if (d.Permutation!.Count != item.ResponseCount || d.Best != item.Best)
                throw new EvalDataException($"{path}:{lineNumber}: item {d.Item} changes its response count or best index");
            item.Samples.Add(ToSample(d, item.ResponseCount));
        }
        if (items.Count == 0) throw new EvalDataException($"{path}: no samples");
        return items;
    }

    private static SampleDumpLine Parse(string path, int lineNumber, string line)
    {
        SampleDumpLine? d;
        try
        {
            d = JsonSerializer.Deserialize<SampleDumpLine>(line, Options);
        }
        catch (JsonException ex)
        {
            throw new EvalDataException($"{path}:{lineNumber}: not a sample dump line ({ex.Message})");
        }
        string? problem =
            d is null ? "not a JSON object"
            : d.Permutation is not { Count: >= 1 } ? "field 'permutation' is missing"
            : d.Best < 0 || d.Best >= d.Permutation.Count ? $"field 'best' ({d.Best}) is not a response index"
            : d.Scores is { } s && s.Count != d.Permutation.Count ? "field 'scores' has the wrong count"
            : d.Scores is { } t && t.Any(v => v is < GrmOutputParser.MinScore or > GrmOutputParser.MaxScore) ? "field 'scores' is off the 1..10 scale"
            : null;
        return problem is null ? d! : throw new EvalDataException($"{path}:{lineNumber}: {problem}");
    }

    private static GrmSample ToSample(SampleDumpLine d, int n) =>
        d.Scores is { } scores && d.ParseStatus == SampleRowMapping.OkStatusName
            ? new GrmSample(d.Sample, d.Seed, new Permutation(d.Permutation!), ParseStatus.Ok, null, scores, [], new string?[n], d.MetaScore)
            : GrmSample.Invalid(d.Sample, n, SampleRowMapping.UnparsedStatus(d.ParseStatus), d.ParseStatus ?? "unparsed", d.Seed);
}

/// <summary>One item of a sample dump: its draws in order and its true best response.</summary>
public sealed record DumpedItem(int Item, string? Id, int Best, int ResponseCount, List<GrmSample> Samples);
