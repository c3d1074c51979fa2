namespace GrmWorker.Inference.Tokenization;

internal sealed class SequenceDecoder(IDecoder[] decoders) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        foreach (var decoder in decoders)
        {
            tokens = decoder.DecodeChain(tokens);
        }

        return tokens;
    }
}
