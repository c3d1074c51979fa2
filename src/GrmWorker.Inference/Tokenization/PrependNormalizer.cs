namespace GrmWorker.Inference.Tokenization;

/// <summary>Prepends to every non-empty piece (HF skips empty ones).</summary>
internal sealed class PrependNormalizer(string prefix) : INormalizer
{
    public string Normalize(string text) => text.Length == 0 ? text : prefix + text;
}
