using System.Globalization;
using System.Text;

namespace GrmWorker.Inference.Tokenization;

/// <summary>
/// HF `ByteFallback` decoder: runs of `&lt;0xNN&gt;` tokens become the text their bytes spell, or one
/// U+FFFD per byte when the run is not valid UTF-8; other tokens pass through.
/// </summary>
internal sealed class ByteFallbackDecoder : IDecoder
{
    private static readonly UTF8Encoding Strict = new(false, true);

    public List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var pending = new List<byte>();
        foreach (var token in tokens)
        {
            if (TryParseByte(token, out var b))
            {
                pending.Add(b);
                continue;
            }

            Flush(pending, result);
            result.Add(token);
        }

        Flush(pending, result);
        return result;
    }

    private static void Flush(List<byte> pending, List<string> result)
    {
        if (pending.Count == 0)
        {
            return;
        }

        try
        {
            result.Add(Strict.GetString([.. pending]));
        }
        catch (DecoderFallbackException)
        {
            result.AddRange(Enumerable.Repeat("\uFFFD", pending.Count));
        }

        pending.Clear();
    }

    /// <summary>`&lt;0xNN&gt;` (6 UTF-8 bytes; the two after "&lt;0x" parse as hex, as Rust's
    /// `u8::from_str_radix`, which also takes a leading '+').</summary>
    private static bool TryParseByte(string token, out byte value)
    {
        value = 0;
        if (token.Length != 6 || !token.StartsWith("<0x", StringComparison.Ordinal) || token[5] != '>')
        {
            return false;
        }

        var digits = token.AsSpan(3, 2);
        if (digits[0] == '+')
        {
            digits = digits[1..];
        }

        return byte.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }
}
