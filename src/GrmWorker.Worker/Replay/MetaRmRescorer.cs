using System.Text.Json;
using GrmWorker.Scoring.Prompting;
using GrmWorker.Storage;
using GrmWorker.Worker.Pipeline;

namespace GrmWorker.Worker.Replay;

/// <summary>
/// Scores stored samples again with a meta reward model (`grm replay --meta-rm DIR`): for each valid sample among a
/// job's first k, the input the live pipeline builds (<see cref="MetaRmInput"/>: the query, the responses in the
/// order that sample showed them, its stored text), all of a page of jobs in one batched call.
/// </summary>
internal sealed class MetaRmRescorer(IMetaScorer scorer)
{
    public string ModelId => scorer.ModelId;

    /// <summary>Meta scores by sample index for each job that can be scored; a job that cannot gets a reason instead.</summary>
    public async Task<IReadOnlyDictionary<long, Rescored>> ScoreAsync(IReadOnlyList<StoredJob> jobs, int? k, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var texts = new List<string>();
        var owners = new List<(long JobId, int SampleIndex)>();
        var results = new Dictionary<long, Rescored>();
        foreach (var stored in jobs)
        {
            var job = stored.Job;
            var valid = StoredSamples.Take(job, k).Where(s => SampleRowMapping.IsValid(s, job.Responses.Count)).ToList();
            if (valid.Count == 0) continue;
            if (Query(job.RequestJson) is not { } query)
            {
                results[stored.JobId] = new Rescored(null, "its request body is not stored, so the meta-RM input (which needs the query) cannot be rebuilt");
                continue;
            }
            foreach (var sample in valid)
            {
                var shown = sample.Permutation.Select(i => job.Responses[i]).ToArray();
                texts.Add(MetaRmInput.Build(query, shown, sample.RawText));
                owners.Add((stored.JobId, sample.SampleIndex));
            }
            results[stored.JobId] = new Rescored(new Dictionary<int, double>(), null);
        }
        if (texts.Count == 0) return results;
        var scores = await scorer.ScoreAsync(texts, cancellationToken);
        for (var i = 0; i < owners.Count; i++)
        {
            var scored = (Dictionary<int, double>)results[owners[i].JobId].Scores!;
            scored[owners[i].SampleIndex] = scores[i];
        }
        return results;
    }

    private static string? Query(string? requestJson)
    {
        if (string.IsNullOrWhiteSpace(requestJson)) return null;
        using var request = JsonDocument.Parse(requestJson);
        return request.RootElement.ValueKind == JsonValueKind.Object && request.RootElement.TryGetProperty("query", out var query)
            && query.ValueKind == JsonValueKind.String ? query.GetString() : null;
    }

    /// <summary>New meta scores by sample index, or why the job's samples could not be scored.</summary>
    internal sealed record Rescored(IReadOnlyDictionary<int, double>? Scores, string? Problem);
}
