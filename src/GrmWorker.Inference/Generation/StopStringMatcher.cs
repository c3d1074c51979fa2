namespace GrmWorker.Inference.Generation;

/// <summary>
/// Incremental detokenisation for one row (the Hugging Face streamer's prefix/read offsets): text is
/// emitted only once it no longer ends in an incomplete UTF-8 sequence (U+FFFD), and stop strings are
/// searched only in the tail that new text can complete.
/// </summary>
internal sealed class StopStringMatcher(TokenDecoder decoder, IReadOnlyList<string> stopStrings)
{
    private readonly List<int> _ids = [];
    private readonly System.Text.StringBuilder _text = new();
    private readonly int _longestStop = stopStrings.Count == 0 ? 0 : stopStrings.Max(s => s.Length);
    private int _prefixOffset;
    private int _readOffset;

    public string Text => _text.ToString();

    /// <summary>Adds a token; true when the text now contains a stop string (the text is cut before it).</summary>
    public bool Append(int token)
    {
        _ids.Add(token);
        var ids = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_ids);
        var prefix = decoder(ids[_prefixOffset.._readOffset]);
        var full = decoder(ids[_prefixOffset..]);
        if (full.Length <= prefix.Length || full.EndsWith('\uFFFD'))
        {
            return false;
        }
        var searchFrom = Math.Max(0, _text.Length - _longestStop + 1);
        _text.Append(full, prefix.Length, full.Length - prefix.Length);
        _prefixOffset = _readOffset;
        _readOffset = _ids.Count;
        if (_longestStop == 0)
        {
            return false;
        }
        var tail = _text.ToString(searchFrom, _text.Length - searchFrom);
        var cut = -1;
        foreach (var stop in stopStrings)
        {
            var at = tail.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut))
            {
                cut = at;
            }
        }
        if (cut < 0)
        {
            return false;
        }
        _text.Length = searchFrom + cut;
        return true;
    }
}
