using System.Buffers;
using System.Text;

namespace GrmWorker.Inference.Tokenization;

/// <summary>
/// HF `ByteLevel` pre-tokenizer: optionally a leading space and GPT-2's word regex, then each
/// word's UTF-8 bytes are spelled with <see cref="ByteLevelAlphabet"/>.
/// </summary>
internal sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : IPreTokenizer
{
    private static readonly TextPattern Gpt2Words =
        TextPattern.FromRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+");

    public void PreTokenize(string piece, List<string> words)
    {
        if (addPrefixSpace && !piece.StartsWith(' '))
        {
            piece = " " + piece;
        }

        if (!useRegex)
        {
            words.Add(ToByteLevel(piece));
            return;
        }

        var matches = new List<(int Start, int End)>();
        Gpt2Words.FindMatches(piece, matches);
        var split = new List<string>();
        Splitter.Split(piece, matches, SplitBehavior.Isolated, false, split);
        foreach (var word in split)
        {
            words.Add(ToByteLevel(word));
        }
    }

    public static string ToByteLevel(string text)
    {
        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        var rented = max <= 1024 ? null : ArrayPool<byte>.Shared.Rent(max);
        Span<byte> bytes = rented ?? stackalloc byte[1024];
        try
        {
            var n = Encoding.UTF8.GetBytes(text, bytes);
            if (n == text.Length && bytes[..n].IndexOfAnyExceptInRange((byte)'!', (byte)'~') < 0)
            {
                return text; // printable ASCII spells itself
            }

            var chars = n <= 1024 ? stackalloc char[n] : new char[n];
            for (var i = 0; i < n; i++)
            {
                chars[i] = ByteLevelAlphabet.ByteToChar[bytes[i]];
            }

            return new string(chars);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
