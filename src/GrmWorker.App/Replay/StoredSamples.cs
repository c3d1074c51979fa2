using GrmWorker.App.Pipeline;
using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Parsing;
using GrmWorker.Scoring.Sampling;
using GrmWorker.Storage;

namespace GrmWorker.App.Replay;

/// <summary>Stored sample rows back as the <see cref="GrmSample"/>s the aggregators take (request order, as stored).</summary>
internal static class StoredSamples
{
    private static readonly Dictionary<string, ParseStatus> Statuses =
        Enum.GetValues<ParseStatus>().ToDictionary(JobRun.ParseStatusName, s => s, StringComparer.Ordinal);

    /// <summary>The first <paramref name="k"/> samples by index (all when null), with <paramref name="metaScores"/> replacing the stored ones when given.</summary>
    public static IReadOnlyList<GrmSample> First(JobRecord job, int? k, IReadOnlyDictionary<int, double>? metaScores = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        var count = job.Responses.Count;
        return [.. Take(job, k).Select(s => ToSample(s, count, metaScores is null ? s.MetaScore : metaScores.TryGetValue(s.SampleIndex, out var m) ? m : null))];
    }

    public static IEnumerable<SampleRecord> Take(JobRecord job, int? k)
    {
        ArgumentNullException.ThrowIfNull(job);
        var ordered = job.Samples.OrderBy(s => s.SampleIndex);
        return k is { } n ? ordered.Take(n) : ordered;
    }

    /// <summary>Whether a stored sample votes: parsed <c>ok</c> with a score for every response.</summary>
    public static bool IsValid(SampleRecord sample, int responseCount) =>
        sample.ParseStatus == JobRun.ParseStatusName(ParseStatus.Ok) && sample.Scores.Select(x => x.ResponseIndex).Distinct().Count() == responseCount
        && sample.Scores.All(x => x.ResponseIndex >= 0 && x.ResponseIndex < responseCount);

    private static GrmSample ToSample(SampleRecord s, int responseCount, double? metaScore)
    {
        var permutation = s.Permutation.Count == responseCount ? new Permutation(s.Permutation) : Permutation.Identity(responseCount);
        var critiques = new string?[responseCount];
        foreach (var c in s.Critiques.Where(c => c.ResponseIndex >= 0 && c.ResponseIndex < responseCount)) critiques[c.ResponseIndex] = c.Text;
        var principles = s.Principles.OrderBy(p => p.Ordinal).Select(p => new Principle(p.Text, p.Weight)).ToArray();
        if (!IsValid(s, responseCount))
        {
            // A row stored as ok but without a full set of scores cannot vote: it counts as not parsed.
            var status = Statuses.GetValueOrDefault(s.ParseStatus, ParseStatus.MissingScores);
            return new GrmSample(s.SampleIndex, s.Seed, permutation, status == ParseStatus.Ok ? ParseStatus.MissingScores : status,
                s.ParseReason ?? "stored without a score for every response", null, principles, critiques, metaScore) { PromptVersion = s.PromptVersion };
        }
        var scores = new int[responseCount];
        foreach (var x in s.Scores) scores[x.ResponseIndex] = x.Score;
        return new GrmSample(s.SampleIndex, s.Seed, permutation, ParseStatus.Ok, null, scores, principles, critiques, metaScore) { PromptVersion = s.PromptVersion };
    }
}
