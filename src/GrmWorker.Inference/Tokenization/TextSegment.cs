namespace GrmWorker.Inference.Tokenization;

/// <summary>A piece of input text: either an added token already resolved to <see cref="Id"/>, or
/// plain text (<see cref="Id"/> = -1) still to be normalized and tokenized.</summary>
internal readonly record struct TextSegment(string Text, int Id)
{
    public bool IsToken => Id >= 0;
}
