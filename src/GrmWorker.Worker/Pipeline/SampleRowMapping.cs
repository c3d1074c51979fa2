using GrmWorker.Contracts;
using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Parsing;
using GrmWorker.Scoring.Sampling;
using GrmWorker.Storage;

namespace GrmWorker.Worker.Pipeline;

/// <summary>
/// A drawn sample as the sample row Storage keeps (<see cref="SampleRecord"/>) and back, the parse status names the
/// rows (and sample dumps) carry, and the one rule for which stored sample votes. The job's rows are written with
/// <see cref="ToRecord"/> (from <see cref="JobRowMapping"/>, beside it the job row's); `grm replay` reads them back with
/// <see cref="ToSample"/>; `grm jobs show` marks them with <see cref="IsValid"/>.
/// </summary>
internal static class SampleRowMapping
{
    /// <summary>The parse status name of a sample that parsed with a score for every response.</summary>
    public const string OkStatusName = "ok";

    private static readonly Dictionary<string, ParseStatus> Statuses =
        Enum.GetValues<ParseStatus>().ToDictionary(ParseStatusName, s => s, StringComparer.Ordinal);

    /// <summary>
    /// The status of a stored sample that cannot vote, from its stored name: a name this build does not know, or "ok"
    /// without a full set of scores, counts as missing scores.
    /// </summary>
    public static ParseStatus UnparsedStatus(string? name) =>
        name is not null && Statuses.TryGetValue(name, out var status) && status != ParseStatus.Ok ? status : ParseStatus.MissingScores;

    public static string ParseStatusName(ParseStatus status) => status switch
    {
        ParseStatus.Ok => OkStatusName,
        ParseStatus.Empty => "empty",
        ParseStatus.MissingScores => "missing_scores",
        ParseStatus.WrongCount => "wrong_count",
        ParseStatus.NotInteger => "not_integer",
        ParseStatus.OutOfRange => "out_of_range",
        _ => status.ToString(),
    };

    /// <summary>
    /// The row of a drawn sample; its <see cref="DrawnSample.RawText"/> is storable already. Text the parser took from
    /// it (reason, principles, critiques) is made storable here (<see cref="RequestRules.Storable"/>).
    /// </summary>
    public static SampleRecord ToRecord(DrawnSample drawn)
    {
        ArgumentNullException.ThrowIfNull(drawn);
        var sample = drawn.Sample;
        return new SampleRecord
        {
            SampleIndex = sample.Index,
            Seed = sample.Seed,
            Permutation = sample.Permutation.Order,
            RawText = drawn.RawText,
            ParseStatus = ParseStatusName(sample.Status),
            ParseReason = sample.Reason is null ? null : RequestRules.Storable(sample.Reason),
            MetaScore = sample.MetaScore,
            PromptTokens = drawn.PromptTokens,
            GeneratedTokens = drawn.GeneratedTokens,
            LatencyMs = drawn.RoundTime.TotalMilliseconds,
            PromptVersion = sample.PromptVersion,
            Principles = [.. sample.Principles.Select((p, i) => new PrincipleRecord(i, RequestRules.Storable(p.Text), p.Weight is >= 0 ? p.Weight : null))],
            Critiques = [.. sample.Critiques.Select((c, i) => (c, i)).Where(x => x.c is not null).Select(x => new CritiqueRecord(x.i, RequestRules.Storable(x.c!)))],
            Scores = sample.IsValid ? [.. sample.Scores!.Select((s, i) => new ScoreRecord(i, s))] : [],
        };
    }

    /// <summary>Whether a stored sample votes: parsed <c>ok</c> with exactly one score for every response.</summary>
    public static bool IsValid(SampleRecord sample, int responseCount)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return sample.ParseStatus == OkStatusName && sample.Scores.Select(x => x.ResponseIndex).Distinct().Count() == responseCount
            && sample.Scores.All(x => x.ResponseIndex >= 0 && x.ResponseIndex < responseCount);
    }

    /// <summary>
    /// The sample a stored row says was drawn, for a job of <paramref name="responseCount"/> responses, with
    /// <paramref name="metaScore"/> as its meta score. A row that is not <see cref="IsValid"/> cannot vote: a row
    /// stored as ok without a full set of scores counts as not parsed.
    /// </summary>
    public static GrmSample ToSample(SampleRecord s, int responseCount, double? metaScore)
    {
        ArgumentNullException.ThrowIfNull(s);
        var permutation = s.Permutation.Count == responseCount ? new Permutation(s.Permutation) : Permutation.Identity(responseCount);
        var critiques = new string?[responseCount];
        foreach (var c in s.Critiques.Where(c => c.ResponseIndex >= 0 && c.ResponseIndex < responseCount)) critiques[c.ResponseIndex] = c.Text;
        var principles = s.Principles.OrderBy(p => p.Ordinal).Select(p => new Principle(p.Text, p.Weight)).ToArray();
        if (!IsValid(s, responseCount))
        {
            return new GrmSample(s.SampleIndex, s.Seed, permutation, UnparsedStatus(s.ParseStatus),
                s.ParseReason ?? "stored without a score for every response", null, principles, critiques, metaScore) { PromptVersion = s.PromptVersion };
        }
        var scores = new int[responseCount];
        foreach (var x in s.Scores) scores[x.ResponseIndex] = x.Score;
        return new GrmSample(s.SampleIndex, s.Seed, permutation, ParseStatus.Ok, null, scores, principles, critiques, metaScore) { PromptVersion = s.PromptVersion };
    }
}
