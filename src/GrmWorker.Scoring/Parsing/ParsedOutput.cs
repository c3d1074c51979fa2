namespace GrmWorker.Scoring.Parsing;

/// <summary>
/// What the parser read from one sample's generated text, all in the order the responses were
/// SHOWN. <see cref="Scores"/> is set only when <see cref="Status"/> is <see cref="ParseStatus.Ok"/>;
/// principles and critiques are kept whenever found, for audit, even from a failed sample.
/// </summary>
public sealed record ParsedOutput(
    ParseStatus Status,
    string? Reason,
    IReadOnlyList<int>? Scores,
    IReadOnlyList<Principle> Principles,
    IReadOnlyList<string?> Critiques,
    string? Analysis)
{
    public bool IsValid => Status == ParseStatus.Ok;
}
