namespace GrmWorker.Inference.Tokenization;

/// <summary>A tokenizer.json `pre_tokenizer`: splits one normalized piece into words for the model.</summary>
internal interface IPreTokenizer
{
    /// <summary>Appends the non-empty words of <paramref name="piece"/> to <paramref name="words"/>.</summary>
    void PreTokenize(string piece, List<string> words);
}
