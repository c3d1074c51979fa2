using System.Text;

namespace GrmWorker.Inference.Tokenization;

/// <summary>
/// HF `ByteLevel` decoder: maps each token's characters back to bytes (a token with a character
/// outside the byte alphabet, e.g. an added token like &lt;｜User｜&gt;, contributes its own UTF-8),
/// then decodes all bytes at once, invalid sequences becoming U+FFFD as Rust's `from_utf8_lossy`.
/// </summary>
internal sealed class ByteLevelDecoder : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var bytes = new List<byte>(tokens.Count * 4);
        foreach (var token in tokens)
        {
            if (!TryAppendAlphabet(token, bytes))
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(token));
            }
        }

        return [Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes))];
    }

    private static bool TryAppendAlphabet(string token, List<byte> bytes)
    {
        var map = ByteLevelAlphabet.CharToByte;
        foreach (var c in token)
        {
            if (c >= map.Length || map[c] < 0)
            {
                return false;
            }
        }

        foreach (var c in token)
        {
            bytes.Add((byte)map[c]);
        }

        return true;
    }
}
