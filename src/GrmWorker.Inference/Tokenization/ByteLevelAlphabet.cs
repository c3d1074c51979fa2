namespace GrmWorker.Inference.Tokenization;

/// <summary>
/// GPT-2's `bytes_to_unicode`: each byte becomes a printable character (printable Latin-1 bytes
/// map to themselves, the others to U+0100 onwards), so byte-level tokens are valid strings.
/// </summary>
internal static class ByteLevelAlphabet
{
    /// <summary>Byte value to its character.</summary>
    public static readonly char[] ByteToChar = BuildByteToChar();

    /// <summary>Character (below U+0200) to its byte value, or -1 when not in the alphabet.</summary>
    public static readonly short[] CharToByte = BuildCharToByte();

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)next++;
        }

        return map;
    }

    private static short[] BuildCharToByte()
    {
        var map = new short[0x200];
        Array.Fill(map, (short)-1);
        for (var b = 0; b < 256; b++)
        {
            map[ByteToChar[b]] = (short)b;
        }

        return map;
    }
}
