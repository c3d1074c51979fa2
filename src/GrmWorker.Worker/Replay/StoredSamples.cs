using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Sampling;
using GrmWorker.Storage;
using GrmWorker.Worker.Pipeline;

namespace GrmWorker.Worker.Replay;

/// <summary>Stored sample rows back as the <see cref="GrmSample"/>s the aggregators take (request order, as stored).</summary>
internal static class StoredSamples
{
    /// <summary>The first <paramref name="k"/> samples by index (all when null), with <paramref name="metaScores"/> replacing the stored ones when given.</summary>
    public static IReadOnlyList<GrmSample> First(JobRecord job, int? k, IReadOnlyDictionary<int, double>? metaScores = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        var count = job.Responses.Count;
        return [.. Take(job, k).Select(s => SampleRowMapping.ToSample(s, count, metaScores is null ? s.MetaScore : metaScores.TryGetValue(s.SampleIndex, out var m) ? m : null))];
    }

    public static IEnumerable<SampleRecord> Take(JobRecord job, int? k)
    {
        ArgumentNullException.ThrowIfNull(job);
        var ordered = job.Samples.OrderBy(s => s.SampleIndex);
        return k is { } n ? ordered.Take(n) : ordered;
    }
}
