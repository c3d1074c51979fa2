using System.Buffers;

namespace GrmWorker.Inference.Tokenization;

/// <summary>
/// Leftmost-longest matcher for added tokens (what HF does with an Aho-Corasick automaton in
/// `MatchKind::LeftmostLongest`): the earliest start wins, then the longest token starting there.
/// A character trie suffices: tokens are short and candidates are found by their first character.
/// </summary>
internal sealed class TokenTrie
{
    private readonly Dictionary<(int Node, char C), int> _edges = [];
    private readonly List<int> _terminal = [-1]; // node -> pattern index, -1 when none
    private readonly SearchValues<char> _firstChars;

    public TokenTrie(IReadOnlyList<string> patterns)
    {
        var first = new HashSet<char>();
        for (var p = 0; p < patterns.Count; p++)
        {
            if (patterns[p].Length == 0)
            {
                continue;
            }

            first.Add(patterns[p][0]);
            var node = 0;
            foreach (var c in patterns[p])
            {
                if (!_edges.TryGetValue((node, c), out var child))
                {
                    child = _terminal.Count;
                    _terminal.Add(-1);
                    _edges[(node, c)] = child;
                }

                node = child;
            }

            if (_terminal[node] < 0)
            {
                _terminal[node] = p;
            }
        }

        _firstChars = SearchValues.Create([.. first]);
        IsEmpty = first.Count == 0;
    }

    public bool IsEmpty { get; }

    /// <summary>The next match at or after <paramref name="from"/>: (start, length, pattern) or null.</summary>
    public (int Start, int Length, int Pattern)? FindNext(string text, int from)
    {
        while (from < text.Length)
        {
            var offset = text.AsSpan(from).IndexOfAny(_firstChars);
            if (offset < 0)
            {
                return null;
            }

            var start = from + offset;
            var (length, pattern) = LongestAt(text, start);
            if (pattern >= 0)
            {
                return (start, length, pattern);
            }

            from = start + 1;
        }

        return null;
    }

    private (int Length, int Pattern) LongestAt(string text, int start)
    {
        var node = 0;
        var best = (0, -1);
        for (var i = start; i < text.Length && _edges.TryGetValue((node, text[i]), out node); i++)
        {
            if (_terminal[node] >= 0)
            {
                best = (i - start + 1, _terminal[node]);
            }
        }

        return best;
    }
}
