using System.Buffers;
using System.Text.Json;

namespace GrmWorker.Inference.Tokenization;

/// <summary>Streams `model.vocab` and `model.merges` from a <see cref="Utf8JsonReader"/>.</summary>
internal static class BpeVocabReader
{
    /// <summary>Reads the object `{"token": id, ...}` the reader is about to enter.</summary>
    public static Dictionary<string, int> ReadVocab(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw JsonField.Error("$.model.vocab", $"must be an object of token to id, found {reader.TokenType}");
        }

        var vocab = new Dictionary<string, int>(1 << 16, StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var token = reader.GetString()!;
            reader.Read();
            vocab[token] = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var id) && id >= 0
                ? id
                : throw JsonField.Error($"$.model.vocab[\"{token}\"]", "must be a non-negative integer id");
        }

        return vocab;
    }

    public static Dictionary<long, BpeMerge> ReadMerges(byte[] json, Dictionary<string, int> vocab, int prefixLength)
    {
        var reader = new Utf8JsonReader(json);
        return ReadMerges(ref reader, vocab, prefixLength, alreadyOnValue: false);
    }

    /// <summary>Reads the merges array the reader is about to enter: "a b" strings or ["a", "b"]
    /// pairs. Rank = position; a later duplicate pair wins, as in HF's map.</summary>
    public static Dictionary<long, BpeMerge> ReadMerges(ref Utf8JsonReader reader, Dictionary<string, int> vocab, int prefixLength) =>
        ReadMerges(ref reader, vocab, prefixLength, alreadyOnValue: false);

    private static Dictionary<long, BpeMerge> ReadMerges(
        ref Utf8JsonReader reader, Dictionary<string, int> vocab, int prefixLength, bool alreadyOnValue)
    {
        if (!alreadyOnValue)
        {
            reader.Read();
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw JsonField.Error("$.model.merges", $"must be an array, found {reader.TokenType}");
        }

        var lookup = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        var merges = new Dictionary<long, BpeMerge>(1 << 16);
        var buffer = ArrayPool<char>.Shared.Rent(1024);
        var merged = ArrayPool<char>.Shared.Rent(1024);
        try
        {
            for (var rank = 0; reader.Read() && reader.TokenType != JsonTokenType.EndArray; rank++)
            {
                var leftLength = ReadPair(ref reader, ref buffer, rank);
                var left = buffer.AsSpan(0, leftLength.Left);
                var right = buffer.AsSpan(leftLength.RightStart, leftLength.RightLength);
                var tail = right[Math.Min(prefixLength, right.Length)..];
                if (merged.Length < left.Length + tail.Length)
                {
                    ArrayPool<char>.Shared.Return(merged);
                    merged = ArrayPool<char>.Shared.Rent(left.Length + tail.Length);
                }

                left.CopyTo(merged);
                tail.CopyTo(merged.AsSpan(left.Length));
                var product = merged.AsSpan(0, left.Length + tail.Length);
                if (!lookup.TryGetValue(left, out var leftId) || !lookup.TryGetValue(right, out var rightId) ||
                    !lookup.TryGetValue(product, out var newId))
                {
                    throw JsonField.Error($"$.model.merges[{rank}]",
                        $"merges '{left}' + '{right}', but a part or the result '{product}' is not in model.vocab");
                }

                merges[BpeModel.PairKey(leftId, rightId)] = new BpeMerge(rank, newId);
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
            ArrayPool<char>.Shared.Return(merged);
        }

        return merges;
    }

    /// <summary>Copies one merge's two tokens into <paramref name="buffer"/>: the left one at 0,
    /// the right one at RightStart.</summary>
    private static (int Left, int RightStart, int RightLength) ReadPair(ref Utf8JsonReader reader, ref char[] buffer, int rank)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            var length = CopyString(ref reader, ref buffer, 0);
            var line = buffer.AsSpan(0, length);
            var space = line.IndexOf(' ');
            return space > 0 && space < length - 1 && line[(space + 1)..].IndexOf(' ') < 0
                ? (space, space + 1, length - space - 1)
                : throw JsonField.Error($"$.model.merges[{rank}]", $"must be two tokens separated by one space, found \"{line}\"");
        }

        if (reader.TokenType == JsonTokenType.StartArray && reader.Read() && reader.TokenType == JsonTokenType.String)
        {
            var left = CopyString(ref reader, ref buffer, 0);
            if (reader.Read() && reader.TokenType == JsonTokenType.String)
            {
                var right = CopyString(ref reader, ref buffer, left);
                if (reader.Read() && reader.TokenType == JsonTokenType.EndArray)
                {
                    return (left, left, right);
                }
            }
        }

        throw JsonField.Error($"$.model.merges[{rank}]", "must be \"a b\" or [\"a\", \"b\"]");
    }

    private static int CopyString(ref Utf8JsonReader reader, ref char[] buffer, int at)
    {
        // UTF-16 never needs more code units than the (possibly escaped) UTF-8 bytes.
        var needed = at + (reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length);
        if (buffer.Length < needed)
        {
            var bigger = ArrayPool<char>.Shared.Rent(needed);
            buffer.AsSpan(0, at).CopyTo(bigger);
            ArrayPool<char>.Shared.Return(buffer);
            buffer = bigger;
        }

        return reader.CopyString(buffer.AsSpan(at));
    }
}
