using System.Runtime.InteropServices;

namespace GrmWorker.Inference.Tokenization;

/// <summary>
/// A Hugging Face `tokenizer.json` tokenizer (BPE models; byte-level or SentencePiece-style with
/// byte fallback), giving the same ids and decoded text as the HF Rust tokenizer. Thread-safe.
/// Encoding: split out added tokens, normalize, pre-tokenize into words, BPE each word, and
/// (when asked) add the post-processor's special tokens.
/// </summary>
public sealed class Tokenizer
{
    private readonly BpeModel _model;
    private readonly AddedVocabulary _added;
    private readonly INormalizer? _normalizer;
    private readonly IPreTokenizer? _preTokenizer;
    private readonly IPostProcessor? _postProcessor;
    private readonly IDecoder? _decoder;

    internal Tokenizer(
        BpeModel model,
        AddedVocabulary added,
        INormalizer? normalizer,
        IPreTokenizer? preTokenizer,
        IPostProcessor? postProcessor,
        IDecoder? decoder)
    {
        _model = model;
        _added = added;
        _normalizer = normalizer;
        _preTokenizer = preTokenizer;
        _postProcessor = postProcessor;
        _decoder = decoder;
        VocabSize = Math.Max(model.IdToToken.Length, added.MaxId + 1);
    }

    /// <summary>Number of ids: highest id (model or added token) + 1.</summary>
    public int VocabSize { get; }

    /// <summary>Loads a tokenizer.json; a <see cref="TokenizerFormatException"/> names the file and field at fault.</summary>
    public static Tokenizer Load(string tokenizerJsonPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(tokenizerJsonPath);
        return TokenizerLoader.Load(tokenizerJsonPath);
    }

    /// <summary>Token ids of <paramref name="text"/>; <paramref name="addSpecialTokens"/> runs the
    /// post-processor (e.g. a leading BOS).</summary>
    public int[] Encode(string text, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Rust strings cannot hold lone surrogates; the reference sees U+FFFD there.
        text = Utf16.ReplaceLoneSurrogates(text);
        var ids = new List<int>(text.Length / 3 + 4);
        var raw = new List<TextSegment>();
        _added.SplitRaw(text, raw);
        var pieces = new List<TextSegment>();
        var words = new List<string>();
        foreach (var segment in raw)
        {
            if (segment.IsToken)
            {
                ids.Add(segment.Id);
                continue;
            }

            var normalized = _normalizer?.Normalize(segment.Text) ?? segment.Text;
            pieces.Clear();
            if (_added.HasNormalizedTokens)
            {
                _added.SplitNormalized(normalized, pieces);
            }
            else if (normalized.Length > 0)
            {
                pieces.Add(new TextSegment(normalized, -1));
            }

            foreach (var piece in pieces)
            {
                if (piece.IsToken)
                {
                    ids.Add(piece.Id);
                }
                else
                {
                    TokenizePiece(piece.Text, words, ids);
                }
            }
        }

        if (addSpecialTokens && _postProcessor is not null)
        {
            ids = _postProcessor.Process(ids);
        }

        return [.. ids];
    }

    /// <summary>Text of <paramref name="ids"/>; unknown ids are dropped, as in HF. O(ids).</summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var tokens = new List<string>(ids.Length);
        foreach (var id in ids)
        {
            var token = IdToToken(id);
            if (token is not null && !(skipSpecialTokens && _added.IsSpecial(token)))
            {
                tokens.Add(token);
            }
        }

        return _decoder is null ? string.Join(' ', tokens) : string.Concat(_decoder.DecodeChain(tokens));
    }

    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _added.TokenToId(token) ?? _model.TokenToId(token);
    }

    public string? IdToToken(int id) =>
        _added.IdToToken(id) ?? ((uint)id < (uint)_model.IdToToken.Length ? _model.IdToToken[id] : null);

    /// <summary>Whether <paramref name="id"/> is a special added token (BOS, EOS, chat markers...).</summary>
    public bool IsSpecialToken(int id) => _added.IdToToken(id) is { } content && _added.IsSpecial(content);

    private void TokenizePiece(string piece, List<string> words, List<int> ids)
    {
        if (_preTokenizer is null)
        {
            _model.Tokenize(piece, ids);
            return;
        }

        words.Clear();
        _preTokenizer.PreTokenize(piece, words);
        foreach (var word in CollectionsMarshal.AsSpan(words))
        {
            _model.Tokenize(word, ids);
        }
    }
}
