namespace GrmWorker.Inference.Tokenization;

/// <summary>The `model` settings of a BPE tokenizer.json besides vocab and merges.</summary>
internal sealed record BpeOptions(
    string? UnkToken,
    bool FuseUnk,
    bool ByteFallback,
    bool IgnoreMerges,
    string? ContinuingSubwordPrefix,
    string? EndOfWordSuffix);
