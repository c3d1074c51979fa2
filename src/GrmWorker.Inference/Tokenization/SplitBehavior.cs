namespace GrmWorker.Inference.Tokenization;

/// <summary>What a Split pre-tokenizer does with the delimiters it finds (HF `SplitDelimiterBehavior`).</summary>
internal enum SplitBehavior
{
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}
