using System.Globalization;

namespace GrmWorker.Inference.Tokenization;

/// <summary>
/// HF `AddedVocabulary`: the added and special tokens, their ids, and the splitting of input text
/// around them. Tokens with `normalized: false` are found in the raw text, the others in the
/// normalized pieces in between.
/// </summary>
internal sealed class AddedVocabulary
{
    private readonly Dictionary<string, int> _idByContent = new(StringComparer.Ordinal);
    private readonly Dictionary<int, AddedToken> _tokenById = [];
    private readonly HashSet<string> _special = new(StringComparer.Ordinal);
    private readonly TokenMatcher _raw;
    private readonly TokenMatcher _normalized;

    /// <summary>Adds the tokens in file order, giving ids as HF's `add_tokens` does: the model's id
    /// when the content is in its vocabulary, else the next id after the model and earlier tokens.</summary>
    public AddedVocabulary(IReadOnlyList<AddedToken> tokens, BpeModel model, INormalizer? normalizer)
    {
        var ordered = new List<AddedToken>();
        foreach (var token in tokens.Where(t => t.Special && t.Content.Length > 0))
        {
            if (_special.Add(token.Content))
            {
                ordered.Add(token);
            }
        }

        var seen = new HashSet<AddedToken>();
        foreach (var token in tokens.Where(t => t.Content.Length > 0))
        {
            // HF ignores a token equal (all fields) to one already added.
            if (!seen.Add(token))
            {
                continue;
            }

            var id = TokenToId(token.Content, model) ?? NextId(model);
            _idByContent[token.Content] = id;
            _tokenById[id] = token;
            if (!_special.Contains(token.Content))
            {
                ordered.Add(token);
            }
        }

        _raw = new TokenMatcher(ordered.Where(t => !t.Normalized).Select(t => (t, t.Content, _idByContent[t.Content])).ToList());
        _normalized = new TokenMatcher(ordered.Where(t => t.Normalized)
            .Select(t => (t, normalizer?.Normalize(t.Content) ?? t.Content, _idByContent[t.Content])).ToList());
    }

    public int Count => _tokenById.Count;

    public int MaxId => _tokenById.Count == 0 ? -1 : _tokenById.Keys.Max();

    public bool HasNormalizedTokens => !_normalized.IsEmpty;

    public int? TokenToId(string content) => _idByContent.TryGetValue(content, out var id) ? id : null;

    public string? IdToToken(int id) => _tokenById.TryGetValue(id, out var token) ? token.Content : null;

    public bool IsSpecial(string content) => _special.Contains(content);

    /// <summary>Splits raw input around the tokens that match before normalization.</summary>
    public void SplitRaw(string text, List<TextSegment> output) => _raw.Split(text, output);

    /// <summary>Splits a normalized piece around the tokens that match after normalization.</summary>
    public void SplitNormalized(string text, List<TextSegment> output) => _normalized.Split(text, output);

    private int? TokenToId(string content, BpeModel model) => TokenToId(content) ?? model.TokenToId(content);

    private int NextId(BpeModel model)
    {
        var modelSize = model.VocabCount;
        if (_idByContent.Count == 0)
        {
            return modelSize;
        }

        var max = _idByContent.Values.Max();
        return max >= modelSize || modelSize == 0 ? max + 1 : modelSize;
    }

    /// <summary>One of HF's two matching sets: a trie over token contents plus the strip rules.</summary>
    private sealed class TokenMatcher
    {
        private readonly List<(AddedToken Token, string Pattern, int Id)> _tokens;
        private readonly TokenTrie _trie;

        public TokenMatcher(List<(AddedToken Token, string Pattern, int Id)> tokens)
        {
            _tokens = tokens;
            _trie = new TokenTrie(tokens.Select(t => t.Pattern).ToList());
        }

        public bool IsEmpty => _trie.IsEmpty;

        /// <summary>HF `find_matches` + `split_with_indices`; empty text pieces are dropped.</summary>
        public void Split(string text, List<TextSegment> output)
        {
            var startOffset = 0;
            var from = 0;
            while (!_trie.IsEmpty && _trie.FindNext(text, from) is var (start, length, index))
            {
                var stop = start + length;
                from = stop;
                var (token, _, id) = _tokens[index];
                if (token.SingleWord && !IsSingleWord(text, start, stop))
                {
                    continue;
                }

                if (token.LStrip)
                {
                    start = Math.Max(startOffset, TrimWhitespaceBefore(text, start));
                }

                if (token.RStrip)
                {
                    stop = TrimWhitespaceAfter(text, stop);
                }

                if (startOffset < start)
                {
                    output.Add(new TextSegment(text[startOffset..start], -1));
                }

                output.Add(new TextSegment(text[start..stop], id));
                startOffset = stop;
            }

            if (startOffset < text.Length)
            {
                output.Add(new TextSegment(startOffset == 0 ? text : text[startOffset..], -1));
            }
        }

        private static bool IsSingleWord(string text, int start, int stop) =>
            (start == 0 || !IsWordChar(text, start - 1, before: true)) &&
            (stop == text.Length || !IsWordChar(text, stop, before: false));

        /// <summary>Regex `\w` (letters, marks, digits, connector punctuation) on the code point
        /// just before or at <paramref name="at"/>.</summary>
        private static bool IsWordChar(string text, int at, bool before)
        {
            if (before && at > 0 && char.IsLowSurrogate(text[at]) && char.IsHighSurrogate(text[at - 1]))
            {
                at--;
            }

            var category = CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text, at));
            return category is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter
                or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
                or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
                or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ConnectorPunctuation;
        }

        private static int TrimWhitespaceBefore(string text, int start)
        {
            while (start > 0 && char.IsWhiteSpace(text[start - 1]))
            {
                start--;
            }

            return start;
        }

        private static int TrimWhitespaceAfter(string text, int stop)
        {
            while (stop < text.Length && char.IsWhiteSpace(text[stop]))
            {
                stop++;
            }

            return stop;
        }
    }
}
