namespace GrmWorker.Inference.Tokenization;

/// <summary>Removes up to `start` leading and `stop` trailing copies of one character per token.</summary>
internal sealed class StripDecoder(string content, int start, int stop) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens) => tokens.ConvertAll(Strip);

    private string Strip(string token)
    {
        var runes = token.EnumerateRunes().Select(r => r.ToString()).ToList();
        var from = 0;
        while (from < Math.Min(start, runes.Count) && runes[from] == content)
        {
            from++;
        }

        var to = runes.Count;
        for (var i = 0; i < stop && to > from && runes[to - 1] == content; i++)
        {
            to--;
        }

        return string.Concat(runes.Skip(from).Take(to - from));
    }
}
