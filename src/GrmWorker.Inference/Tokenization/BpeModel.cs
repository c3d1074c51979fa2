using System.Collections.Concurrent;
using System.Text;

namespace GrmWorker.Inference.Tokenization;

/// <summary>
/// HF `BPE` model: a word starts as one symbol per code point (or its UTF-8 bytes as `&lt;0xNN&gt;`
/// tokens under byte fallback, or the unknown token), then the lowest-ranked adjacent pair is
/// merged until none is left, exactly in the order of HF's `Word::merge_all`.
/// </summary>
internal sealed class BpeModel
{
    private const int MaxCachedWordLength = 256;
    private const int MaxCacheEntries = 100_000;

    [ThreadStatic]
    private static BpeWord? _scratch;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabBySpan;
    private readonly Dictionary<long, BpeMerge> _merges;
    private readonly int[]? _byteFallbackIds;
    private readonly string? _unkToken;
    private readonly int _unkId;
    private readonly bool _fuseUnk;
    private readonly bool _ignoreMerges;
    private readonly string? _prefix;
    private readonly string? _suffix;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private int _cacheCount;

    public BpeModel(Dictionary<string, int> vocab, Dictionary<long, BpeMerge> merges, BpeOptions options)
    {
        _vocab = vocab;
        _vocabBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _merges = merges;
        _unkToken = options.UnkToken;
        _unkId = options.UnkToken is not null && vocab.TryGetValue(options.UnkToken, out var unk) ? unk : -1;
        _fuseUnk = options.FuseUnk;
        _ignoreMerges = options.IgnoreMerges;
        _prefix = string.IsNullOrEmpty(options.ContinuingSubwordPrefix) ? null : options.ContinuingSubwordPrefix;
        _suffix = string.IsNullOrEmpty(options.EndOfWordSuffix) ? null : options.EndOfWordSuffix;
        _byteFallbackIds = options.ByteFallback ? ByteTokenIds(vocab) : null;
        IdToToken = BuildIdToToken(vocab);
    }

    /// <summary>Token text by id; null where the vocabulary has a hole.</summary>
    public string?[] IdToToken { get; }

    public int VocabCount => _vocab.Count;

    public int? TokenToId(string token) => _vocab.TryGetValue(token, out var id) ? id : null;

    public static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>Appends the ids of one pre-tokenized word.</summary>
    public void Tokenize(string word, List<int> ids)
    {
        if (word.Length == 0)
        {
            return;
        }

        if (_ignoreMerges && _vocab.TryGetValue(word, out var whole))
        {
            ids.Add(whole);
            return;
        }

        if (_cache.TryGetValue(word, out var cached))
        {
            ids.AddRange(cached);
            return;
        }

        var result = MergeWord(word);
        // The cache only saves time; a bounded, insert-only cache keeps memory flat on odd input.
        if (word.Length < MaxCachedWordLength && Volatile.Read(ref _cacheCount) < MaxCacheEntries && _cache.TryAdd(word, result))
        {
            Interlocked.Increment(ref _cacheCount);
        }

        ids.AddRange(result);
    }

    private int[] MergeWord(string word)
    {
        var w = _scratch ??= new BpeWord();
        w.Reset(word.Length * 4 + 1);
        AddInitialSymbols(word, w);
        w.MergeAll(_merges);
        return w.ToIds();
    }

    /// <summary>HF `merge_word` before the merges: one symbol per code point.</summary>
    private void AddInitialSymbols(string word, BpeWord w)
    {
        var pendingUnk = -1;
        for (var i = 0; i < word.Length;)
        {
            var length = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            var isFirst = i == 0;
            i += length;
            var symbol = word.AsSpan(i - length, length);
            string? decorated = null;
            if ((_prefix is not null && !isFirst) || (_suffix is not null && i == word.Length))
            {
                decorated = (isFirst ? "" : _prefix) + symbol.ToString() + (i == word.Length ? _suffix : "");
            }

            var found = decorated is null ? _vocabBySpan.TryGetValue(symbol, out var id) : _vocab.TryGetValue(decorated, out id);
            if (found)
            {
                if (pendingUnk >= 0)
                {
                    w.Add(pendingUnk);
                    pendingUnk = -1;
                }

                w.Add(id);
            }
            else if (!TryAddBytes(decorated ?? symbol.ToString(), w) && _unkToken is not null)
            {
                pendingUnk = NextUnk(pendingUnk, w);
            }
        }

        if (pendingUnk >= 0)
        {
            w.Add(pendingUnk);
        }
    }

    /// <summary>Byte fallback: all bytes of the symbol as `&lt;0xNN&gt;`, or nothing when one is missing.
    /// (As in HF, a pending unknown token is not flushed first.)</summary>
    private bool TryAddBytes(string symbol, BpeWord w)
    {
        if (_byteFallbackIds is null)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[Encoding.UTF8.GetMaxByteCount(symbol.Length)];
        var n = Encoding.UTF8.GetBytes(symbol, bytes);
        foreach (var b in bytes[..n])
        {
            if (_byteFallbackIds[b] < 0)
            {
                return false;
            }
        }

        foreach (var b in bytes[..n])
        {
            w.Add(_byteFallbackIds[b]);
        }

        return true;
    }

    /// <summary>Consecutive unknown symbols fuse into one when `fuse_unk` is set.</summary>
    private int NextUnk(int pendingUnk, BpeWord w)
    {
        if (_unkId < 0)
        {
            throw new InvalidOperationException($"The unknown token '{_unkToken}' is not in the vocabulary.");
        }

        if (pendingUnk >= 0 && !_fuseUnk)
        {
            w.Add(pendingUnk);
        }

        return _unkId;
    }

    private static int[] ByteTokenIds(Dictionary<string, int> vocab)
    {
        var ids = new int[256];
        for (var b = 0; b < 256; b++)
        {
            ids[b] = vocab.TryGetValue($"<0x{b:X2}>", out var id) ? id : -1;
        }

        return ids;
    }

    private static string?[] BuildIdToToken(Dictionary<string, int> vocab)
    {
        var max = vocab.Count == 0 ? -1 : vocab.Values.Max();
        var tokens = new string?[max + 1];
        foreach (var (token, id) in vocab)
        {
            tokens[id] = token;
        }

        return tokens;
    }
}
