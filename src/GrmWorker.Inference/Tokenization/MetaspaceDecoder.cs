namespace GrmWorker.Inference.Tokenization;

/// <summary>The replacement character (▁) becomes a space, except in the first token when a
/// prefix space was added at encoding.</summary>
internal sealed class MetaspaceDecoder(string replacement, bool dropInFirst) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (var i = 0; i < tokens.Count; i++)
        {
            result.Add(tokens[i].Replace(replacement, i == 0 && dropInFirst ? "" : " ", StringComparison.Ordinal));
        }

        return result;
    }
}
