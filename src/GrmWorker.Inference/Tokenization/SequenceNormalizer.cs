namespace GrmWorker.Inference.Tokenization;

internal sealed class SequenceNormalizer(INormalizer[] normalizers) : INormalizer
{
    public string Normalize(string text)
    {
        foreach (var normalizer in normalizers)
        {
            text = normalizer.Normalize(text);
        }

        return text;
    }
}
