using System.Text;

namespace GrmWorker.Inference.Tokenization;

/// <summary>
/// NFC / NFD from <see cref="UnicodeData"/> (UAX #15: full canonical decomposition, canonical
/// ordering, then canonical composition for NFC). Our own because `string.Normalize` does nothing
/// under InvariantGlobalization.
/// </summary>
internal sealed class UnicodeNormalizer(bool compose) : INormalizer
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Dictionary<int, int> Classes = BuildClasses();
    private static readonly Dictionary<int, int[]> Decomposition = BuildDecompositions();
    private static readonly Dictionary<long, int> Composition = BuildCompositions();

    public string Normalize(string text)
    {
        // Every character below U+0300 is stable under NFC and NFD except precomposed Latin-1
        // letters under NFD, so most text needs no work.
        var fastLimit = compose ? '\u0300' : '\u00C0';
        if (text.AsSpan().IndexOfAnyExceptInRange('\0', (char)(fastLimit - 1)) < 0)
        {
            return text;
        }

        var cps = Decompose(text);
        Reorder(cps);
        if (compose)
        {
            Compose(cps);
        }

        var sb = new StringBuilder(text.Length);
        foreach (var cp in cps)
        {
            sb.Append(char.ConvertFromUtf32(cp));
        }

        return sb.ToString();
    }

    private static int ClassOf(int cp) => Classes.TryGetValue(cp, out var c) ? c : 0;

    private static List<int> Decompose(string text)
    {
        var cps = new List<int>(text.Length + 8);
        foreach (var rune in text.EnumerateRunes())
        {
            var cp = rune.Value;
            if (cp - SBase is >= 0 and < SCount)
            {
                var s = cp - SBase;
                cps.Add(LBase + s / NCount);
                cps.Add(VBase + s % NCount / TCount);
                if (s % TCount != 0)
                {
                    cps.Add(TBase + s % TCount);
                }
            }
            else if (Decomposition.TryGetValue(cp, out var parts))
            {
                cps.AddRange(parts);
            }
            else
            {
                cps.Add(cp);
            }
        }

        return cps;
    }

    /// <summary>Stable sort of each run of non-starters by combining class.</summary>
    private static void Reorder(List<int> cps)
    {
        for (var i = 1; i < cps.Count; i++)
        {
            var cc = ClassOf(cps[i]);
            if (cc == 0)
            {
                continue;
            }

            for (var j = i; j > 0 && ClassOf(cps[j - 1]) > cc; j--)
            {
                (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
            }
        }
    }

    /// <summary>UAX #15 composition: a character joins the last starter unless blocked.</summary>
    private static void Compose(List<int> cps)
    {
        if (cps.Count == 0)
        {
            return;
        }

        var starterPos = 0;
        var starter = cps[0];
        var lastClass = ClassOf(starter) == 0 ? 0 : 256;
        var target = 1;
        for (var i = 1; i < cps.Count; i++)
        {
            var ch = cps[i];
            var cc = ClassOf(ch);
            if ((lastClass < cc || lastClass == 0) && TryCompose(starter, ch, out var composite))
            {
                cps[starterPos] = composite;
                starter = composite;
                continue;
            }

            if (cc == 0)
            {
                starterPos = target;
                starter = ch;
            }

            lastClass = cc;
            cps[target++] = ch;
        }

        cps.RemoveRange(target, cps.Count - target);
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        if (first - LBase is >= 0 and < LCount && second - VBase is >= 0 and < VCount)
        {
            composite = SBase + ((first - LBase) * VCount + (second - VBase)) * TCount;
            return true;
        }

        if (first - SBase is >= 0 and < SCount && (first - SBase) % TCount == 0 && second - TBase is > 0 and < TCount)
        {
            composite = first + (second - TBase);
            return true;
        }

        return Composition.TryGetValue(((long)first << 32) | (uint)second, out composite);
    }

    private static Dictionary<int, int> BuildClasses()
    {
        var data = UnicodeData.CombiningClasses;
        var map = new Dictionary<int, int>(data.Length / 2);
        for (var i = 0; i < data.Length; i += 2)
        {
            map[data[i]] = data[i + 1];
        }

        return map;
    }

    private static Dictionary<int, int[]> BuildDecompositions()
    {
        var data = UnicodeData.Decompositions;
        var map = new Dictionary<int, int[]>();
        for (var i = 0; i < data.Length; i += 2 + data[i + 1])
        {
            map[data[i]] = data.Slice(i + 2, data[i + 1]).ToArray();
        }

        return map;
    }

    private static Dictionary<long, int> BuildCompositions()
    {
        var data = UnicodeData.Compositions;
        var map = new Dictionary<long, int>(data.Length / 3);
        for (var i = 0; i < data.Length; i += 3)
        {
            map[((long)data[i] << 32) | (uint)data[i + 1]] = data[i + 2];
        }

        return map;
    }
}
