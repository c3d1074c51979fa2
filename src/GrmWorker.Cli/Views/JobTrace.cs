using System.Text.Json;
using GrmWorker.Contracts;
using GrmWorker.Storage;
using GrmWorker.Worker.Pipeline;

namespace GrmWorker.Cli.Views;

/// <summary>
/// Everything stored about one job, shaped for people and for `--json` (`grm jobs show`, `grm score`): the header,
/// the responses, each sample with its principles and, per response in request order, where it was shown, its
/// score and critique, and the reward rows grouped by strategy. Built from a <see cref="JobRecord"/>, so what
/// `grm score` prints is what it stores and what `grm jobs show` reads back.
/// </summary>
internal sealed record JobTrace
{
    public required string RequestId { get; init; }
    /// <summary>The database id; null when the job was not stored (`grm score --no-store`).</summary>
    public long? JobId { get; init; }
    public required string Route { get; init; }
    public required string Status { get; init; }
    public ScoreError? Error { get; init; }
    public string? ModelId { get; init; }
    public string? PromptVersion { get; init; }
    public string? Aggregation { get; init; }
    public int SamplesUsed { get; init; }
    public int SamplesValid { get; init; }
    public bool StoppedEarly { get; init; }
    /// <summary>Why sampling ended: <c>early</c> (the stopping rule), <c>k_max</c>, or the error code of a job that did not score.</summary>
    public required string Stop { get; init; }
    public double LatencyMs { get; init; }
    public required TokenUsage Tokens { get; init; }
    public DateTimeOffset ReceivedAt { get; init; }
    public DateTimeOffset CompletedAt { get; init; }
    /// <summary>When the row was stored; null when not stored.</summary>
    public DateTimeOffset? CreatedAt { get; init; }
    public string? Query { get; init; }
    public string? Reference { get; init; }
    public IReadOnlyList<string> Responses { get; init; } = [];
    public IReadOnlyList<TraceSample> Samples { get; init; } = [];
    public IReadOnlyList<TraceRewards> Rewards { get; init; } = [];
    /// <summary>The result as published (stored jsonb).</summary>
    public JsonElement? Result { get; init; }

    public static JobTrace From(JobRecord job, long? jobId = null, DateTimeOffset? createdAt = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        var request = Parse(job.RequestJson);
        return new JobTrace
        {
            RequestId = job.RequestId,
            JobId = jobId,
            Route = job.Route,
            Status = job.Status,
            Error = job.ErrorCode is { } code ? new ScoreError(code, job.ErrorMessage ?? "") : null,
            ModelId = job.ModelId,
            PromptVersion = job.PromptVersion,
            Aggregation = job.Aggregation,
            SamplesUsed = job.SamplesUsed,
            SamplesValid = job.SamplesValid,
            StoppedEarly = job.StoppedEarly,
            Stop = StopOf(job.ErrorCode, job.StoppedEarly),
            LatencyMs = job.LatencyMs,
            Tokens = new TokenUsage(job.PromptTokens, job.GeneratedTokens),
            ReceivedAt = job.ReceivedAt,
            CompletedAt = job.CompletedAt,
            CreatedAt = createdAt,
            Query = Text(request, "query"),
            Reference = Text(request, "reference"),
            Responses = job.Responses,
            Samples = [.. job.Samples.Select(s => TraceSample.From(s, job.Responses.Count))],
            Rewards = TraceRewards.Group(job.Rewards, job.Responses.Count),
            Result = Parse(job.ResultJson),
        };
    }

    /// <summary>
    /// Why sampling ended, from what is stored (the stopping rule's own reason is not a column): the error code of a
    /// job that did not score, else <c>early</c> or <c>k_max</c>.
    /// </summary>
    public static string StopOf(string? errorCode, bool stoppedEarly) => errorCode ?? (stoppedEarly ? "early" : "k_max");

    private static JsonElement? Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return null;
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    private static string? Text(JsonElement? json, string property) =>
        json is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}

/// <summary>One GRM sample; <see cref="Permutation"/>[p] is the request index shown at position p.</summary>
internal sealed record TraceSample
{
    public int Index { get; init; }
    public long Seed { get; init; }
    public IReadOnlyList<int> Permutation { get; init; } = [];
    public required string ParseStatus { get; init; }
    public string? ParseReason { get; init; }
    /// <summary>Parsed with a score for every response: only valid samples vote.</summary>
    public bool Valid { get; init; }
    public double? MetaScore { get; init; }
    public int PromptTokens { get; init; }
    public int GeneratedTokens { get; init; }
    public double LatencyMs { get; init; }
    public string PromptVersion { get; init; } = "";
    public IReadOnlyList<PrincipleRecord> Principles { get; init; } = [];
    /// <summary>One entry per response, in request order.</summary>
    public IReadOnlyList<TraceJudgement> Judgements { get; init; } = [];
    public string RawText { get; init; } = "";

    public static TraceSample From(SampleRecord s, int responseCount)
    {
        var scores = s.Scores.ToDictionary(x => x.ResponseIndex, x => x.Score);
        var critiques = s.Critiques.ToDictionary(x => x.ResponseIndex, x => x.Text);
        var shown = s.Permutation.ToList();
        return new TraceSample
        {
            Index = s.SampleIndex,
            Seed = s.Seed,
            Permutation = s.Permutation,
            ParseStatus = s.ParseStatus,
            ParseReason = s.ParseReason,
            Valid = SampleRowMapping.IsValid(s, responseCount),
            MetaScore = s.MetaScore,
            PromptTokens = s.PromptTokens,
            GeneratedTokens = s.GeneratedTokens,
            LatencyMs = s.LatencyMs,
            PromptVersion = s.PromptVersion,
            Principles = s.Principles,
            Judgements = [.. Enumerable.Range(0, responseCount).Select(i => new TraceJudgement(
                i, shown.IndexOf(i), scores.TryGetValue(i, out var score) ? score : null, critiques.GetValueOrDefault(i)))],
            RawText = s.RawText,
        };
    }
}

/// <summary>What one sample said about one response: where it was shown (0-based, -1 if not), its score and critique.</summary>
internal sealed record TraceJudgement(int ResponseIndex, int ShownAt, int? Score, string? Critique);

/// <summary>The reward rows of one strategy, in request order; <see cref="Best"/> is the highest reward, ties to the lowest index.</summary>
internal sealed record TraceRewards(string Strategy, IReadOnlyList<double?> Rewards, IReadOnlyList<double?> VoteSums, int Best)
{
    public static IReadOnlyList<TraceRewards> Group(IReadOnlyList<RewardRecord> rows, int responseCount) =>
        [.. rows.GroupBy(r => r.Strategy, StringComparer.Ordinal).Select(g =>
        {
            var values = new double?[responseCount];
            var sums = new double?[responseCount];
            foreach (var r in g.Where(r => r.ResponseIndex >= 0 && r.ResponseIndex < responseCount))
            {
                values[r.ResponseIndex] = r.Value;
                sums[r.ResponseIndex] = r.VoteSum;
            }
            return new TraceRewards(g.Key, values, sums, BestOf(values));
        })];

    public static int BestOf(IReadOnlyList<double?> values)
    {
        var best = -1;
        for (var i = 0; i < values.Count; i++)
        {
            if (values[i] is { } v && (best < 0 || v > values[best]!.Value)) best = i;
        }
        return best;
    }
}
