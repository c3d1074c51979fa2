namespace GrmWorker.Inference.Tokenization;

internal sealed class ReplaceDecoder(TextPattern pattern, string content) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens) => tokens.ConvertAll(t => pattern.Replace(t, content));
}
