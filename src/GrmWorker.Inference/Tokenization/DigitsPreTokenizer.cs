using System.Globalization;
using System.Text;

namespace GrmWorker.Inference.Tokenization;

/// <summary>HF `Digits`: isolates numeric code points (Rust `char::is_numeric`: Nd, Nl, No),
/// one by one or as runs.</summary>
internal sealed class DigitsPreTokenizer(bool individualDigits) : IPreTokenizer
{
    public void PreTokenize(string piece, List<string> words)
    {
        var matches = new List<(int Start, int End)>();
        var at = 0;
        foreach (var rune in piece.EnumerateRunes())
        {
            if (IsNumeric(rune))
            {
                matches.Add((at, at + rune.Utf16SequenceLength));
            }

            at += rune.Utf16SequenceLength;
        }

        Splitter.Split(piece, matches, individualDigits ? SplitBehavior.Isolated : SplitBehavior.Contiguous, false, words);
    }

    private static bool IsNumeric(Rune rune) => Rune.GetUnicodeCategory(rune) is
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;
}
