using GrmWorker.Scoring.Parsing;
using GrmWorker.Scoring.Prompting;
using GrmWorker.Scoring.Sampling;

namespace GrmWorker.Scoring.Aggregation;

/// <summary>
/// One GRM sample as voting, stopping, storage and replay see it: everything in REQUEST order
/// (the permutation has been undone). A sample that failed to parse keeps its status and reason
/// and never votes.
/// </summary>
public sealed record GrmSample(
    int Index,
    long Seed,
    Permutation Permutation,
    ParseStatus Status,
    string? Reason,
    IReadOnlyList<int>? Scores,
    IReadOnlyList<Principle> Principles,
    IReadOnlyList<string?> Critiques,
    double? MetaScore = null)
{
    public string PromptVersion { get; init; } = PromptTemplate.Version;

    public bool IsValid => Status == ParseStatus.Ok && Scores is not null;

    /// <summary>Maps a parse (shown order) back to request order through the sample's permutation.</summary>
    public static GrmSample FromParsed(int index, long seed, Permutation permutation, ParsedOutput parsed, double? metaScore = null)
    {
        ArgumentNullException.ThrowIfNull(permutation);
        ArgumentNullException.ThrowIfNull(parsed);
        var scores = parsed.Scores is { } shown ? permutation.ToRequest(shown) : null;
        var critiques = parsed.Critiques.Count == permutation.Count
            ? permutation.ToRequest(parsed.Critiques)
            : new string?[permutation.Count];
        return new GrmSample(index, seed, permutation, parsed.Status, parsed.Reason, scores, parsed.Principles, critiques, metaScore);
    }

    /// <summary>A sample with known scores (request order): replay from storage, tests, the simulator.</summary>
    public static GrmSample FromScores(int index, IReadOnlyList<int> scores, double? metaScore = null, long seed = 0) =>
        new(index, seed, Permutation.Identity(scores.Count), ParseStatus.Ok, null, scores, [], new string?[scores.Count], metaScore);

    /// <summary>A sample that did not parse.</summary>
    public static GrmSample Invalid(int index, int responseCount, ParseStatus status, string reason, long seed = 0) =>
        new(index, seed, Permutation.Identity(responseCount), status, reason, null, [], new string?[responseCount]);
}
