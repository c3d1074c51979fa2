namespace GrmWorker.Inference.Tokenization;

/// <summary>A tokenizer.json that cannot be loaded: the message names the file and the JSON field.</summary>
public sealed class TokenizerFormatException : Exception
{
    public TokenizerFormatException()
    {
    }

    public TokenizerFormatException(string message)
        : base(message)
    {
    }

    public TokenizerFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
