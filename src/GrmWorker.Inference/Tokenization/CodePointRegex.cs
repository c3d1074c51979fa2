using System.Buffers;
using System.Globalization;
using System.Text.RegularExpressions;

namespace GrmWorker.Inference.Tokenization;

/// <summary>
/// Runs a tokenizer.json regex (written for Oniguruma, which matches code points) with .NET's
/// regex (which matches UTF-16 code units). The patterns only test characters by Unicode
/// category (`\p{L}`, `\p{N}`, `\s`...), ASCII literals and BMP ranges, so each astral code point
/// (a surrogate pair: emoji, 𝐇, 𠀀) is replaced by one BMP stand-in of the same general category
/// before matching, and match bounds are mapped back. Without this `\p{L}+` would stop at 𝐇 and
/// `[^\s\p{L}\p{N}]?` could take half of an emoji.
/// </summary>
internal sealed class CodePointRegex
{
    private static readonly char[] StandIns = BuildStandIns();
    private readonly Regex _regex;

    public CodePointRegex(string pattern)
    {
        _regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(10));
    }

    public void FindMatches(string text, List<(int Start, int End)> matches)
    {
        var firstSurrogate = text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (firstSurrogate < 0)
        {
            foreach (var m in _regex.EnumerateMatches(text))
            {
                if (m.Length > 0)
                {
                    matches.Add((m.Index, m.Index + m.Length));
                }
            }

            return;
        }

        FindMatchesWithSurrogates(text, matches);
    }

    private void FindMatchesWithSurrogates(string text, List<(int Start, int End)> matches)
    {
        var mapped = ArrayPool<char>.Shared.Rent(text.Length);
        var origin = ArrayPool<int>.Shared.Rent(text.Length + 1);
        try
        {
            var n = 0;
            for (var i = 0; i < text.Length; i++)
            {
                origin[n] = i;
                var c = text[i];
                if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    mapped[n++] = StandIn(char.ConvertToUtf32(c, text[i + 1]));
                    i++;
                }
                else
                {
                    mapped[n++] = c;
                }
            }

            origin[n] = text.Length;
            foreach (var m in _regex.EnumerateMatches(mapped.AsSpan(0, n)))
            {
                if (m.Length > 0)
                {
                    matches.Add((origin[m.Index], origin[m.Index + m.Length]));
                }
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(mapped);
            ArrayPool<int>.Shared.Return(origin);
        }
    }

    private static char StandIn(int codePoint) => StandIns[(int)CharUnicodeInfo.GetUnicodeCategory(codePoint)];

    /// <summary>One BMP character per <see cref="UnicodeCategory"/>, outside ASCII and the CJK/kana
    /// ranges that patterns name literally, and without case mappings to ASCII.</summary>
    private static char[] BuildStandIns()
    {
        var standIns = new char[30];
        void Set(UnicodeCategory category, char c) => standIns[(int)category] = c;
        Set(UnicodeCategory.UppercaseLetter, '\uA640');
        Set(UnicodeCategory.LowercaseLetter, '\uA641');
        Set(UnicodeCategory.TitlecaseLetter, '\u01C5');
        Set(UnicodeCategory.ModifierLetter, '\u02B0');
        Set(UnicodeCategory.OtherLetter, '\uA000');
        Set(UnicodeCategory.NonSpacingMark, '\u0300');
        Set(UnicodeCategory.SpacingCombiningMark, '\u0903');
        Set(UnicodeCategory.EnclosingMark, '\u20DD');
        Set(UnicodeCategory.DecimalDigitNumber, '\u0660');
        Set(UnicodeCategory.LetterNumber, '\u2160');
        Set(UnicodeCategory.OtherNumber, '\u00B2');
        Set(UnicodeCategory.SpaceSeparator, '\u2000');
        Set(UnicodeCategory.LineSeparator, '\u2028');
        Set(UnicodeCategory.ParagraphSeparator, '\u2029');
        Set(UnicodeCategory.Control, '\u0001');
        Set(UnicodeCategory.Format, '\u2060');
        Set(UnicodeCategory.Surrogate, '\uFFFD');
        Set(UnicodeCategory.PrivateUse, '\uE000');
        Set(UnicodeCategory.ConnectorPunctuation, '\u203F');
        Set(UnicodeCategory.DashPunctuation, '\u2010');
        Set(UnicodeCategory.OpenPunctuation, '\u2045');
        Set(UnicodeCategory.ClosePunctuation, '\u2046');
        Set(UnicodeCategory.InitialQuotePunctuation, '\u00AB');
        Set(UnicodeCategory.FinalQuotePunctuation, '\u00BB');
        Set(UnicodeCategory.OtherPunctuation, '\u00A1');
        Set(UnicodeCategory.MathSymbol, '\u00AC');
        Set(UnicodeCategory.CurrencySymbol, '\u00A2');
        Set(UnicodeCategory.ModifierSymbol, '\u00A8');
        Set(UnicodeCategory.OtherSymbol, '\u00A6');
        Set(UnicodeCategory.OtherNotAssigned, '\u0378');
        return standIns;
    }
}
