namespace GrmWorker.Worker.Evaluation;

/// <summary>
/// One line of a `grm eval --dump-samples` file, as <see cref="SampleDumpWriter"/> writes it and
/// <see cref="SampleDumpReader"/> reads it back (docs/eval.md lists the keys). Everything is nullable or defaulted
/// on the reading side, which checks what it needs and names the line.
/// </summary>
public sealed record SampleDumpLine(
    int Item, string? Id, int Sample, long Seed, IReadOnlyList<int>? Permutation, string? Text, string? ParseStatus,
    IReadOnlyList<int>? Scores, double? MetaScore, int Best, bool RanksBestFirst, int GeneratedTokens);
