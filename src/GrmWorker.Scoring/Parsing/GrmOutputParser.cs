using System.Globalization;
using System.Text.RegularExpressions;

namespace GrmWorker.Scoring.Parsing;

/// <summary>
/// Reads principles, critiques and scores from the text a GRM generated (never the prompt).
/// Tolerant of form — markdown bold/headings/bullets, extra whitespace, <c>$\boxed{..}$</c>, text after
/// the scores — and strict on meaning: the LAST line that starts with <c>Scores:</c> (a quoted
/// <c>&gt;</c> line does not count) must hold exactly n integers 1..10, in the order shown.
/// Never throws: every failure is a <see cref="ParseStatus"/> with a reason.
/// </summary>
public static partial class GrmOutputParser
{
    public const int MinScore = 1;
    public const int MaxScore = 10;

    // Generation is bounded by maxNewTokens; this only stops a pathological input from costing much.
    private const int MaxChars = 400_000;

    public static ParsedOutput Parse(string? generated, int responseCount)
    {
        if (string.IsNullOrWhiteSpace(generated) || responseCount < 1)
            return Fail(ParseStatus.Empty, "no generated text", [], [], null);
        var text = generated.Length > MaxChars ? generated[..MaxChars] : generated;
        text = text.Replace("\r\n", "\n", StringComparison.Ordinal);

        var scoreLine = FindLastScoreLine(text);
        var principles = ReadPrinciples(text);
        var analysis = ReadAnalysis(text, scoreLine?.Index ?? text.Length);
        var critiques = SplitCritiques(analysis, responseCount);
        if (scoreLine is null)
            return Fail(ParseStatus.MissingScores, "no 'Scores:' line", principles, critiques, analysis);
        return ReadScores(text, scoreLine, responseCount) switch
        {
            (ParseStatus.Ok, _, var scores) => new ParsedOutput(ParseStatus.Ok, null, scores, principles, critiques, analysis),
            var (status, reason, _) => Fail(status, reason, principles, critiques, analysis),
        };
    }

    private static ParsedOutput Fail(ParseStatus status, string? reason, IReadOnlyList<Principle> principles,
        IReadOnlyList<string?> critiques, string? analysis) =>
        new(status, reason, null, principles, critiques, analysis);

    private static Match? FindLastScoreLine(string text)
    {
        Match? last = null;
        for (var m = ScoreLine().Match(text); m.Success; m = m.NextMatch())
            last = m;
        return last;
    }

    private static (ParseStatus Status, string? Reason, int[]? Scores) ReadScores(string text, Match line, int n)
    {
        // The box may wrap to the next line; look from the label to the next blank line.
        var rest = text[(line.Index + line.Length)..];
        var blank = rest.IndexOf("\n\n", StringComparison.Ordinal);
        var region = blank >= 0 ? rest[..blank] : rest;
        var box = Boxed().Match(region);
        string content;
        if (box.Success)
            content = box.Groups["body"].Value;
        else if (PlainList().Match(region) is { Success: true } plain)
            content = plain.Groups["body"].Value;
        else
            return (ParseStatus.MissingScores, "'Scores:' line without \\boxed{...}", null);
        return ParseList(content, n);
    }

    private static (ParseStatus, string?, int[]?) ParseList(string content, int n)
    {
        var tokens = content.Split([',', ';', '，'], StringSplitOptions.TrimEntries);
        if (tokens.Length == 1 && tokens[0].Length == 0)
            tokens = [];
        if (tokens.Length != n)
            return (ParseStatus.WrongCount, $"expected {n} scores, found {tokens.Length}", null);
        var scores = new int[n];
        for (var i = 0; i < n; i++)
        {
            var token = tokens[i].Trim(' ', '\t', '\n', '*', '_', '$', '`');
            if (!IntegerToken().IsMatch(token))
                return (ParseStatus.NotInteger, $"score {i + 1} '{Clip(token)}' is not an integer", null);
            if (!int.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
                || value < MinScore || value > MaxScore)
                return (ParseStatus.OutOfRange, $"score {i + 1} '{Clip(token)}' is outside {MinScore}..{MaxScore}", null);
            scores[i] = value;
        }
        return (ParseStatus.Ok, null, scores);
    }

    private static Principle[] ReadPrinciples(string text)
    {
        var start = CriteriaLabel().Match(text);
        if (!start.Success)
            return [];
        var from = start.Index + start.Length;
        var end = AnalysisLabel().Match(text, from);
        var section = end.Success ? text[from..end.Index] : text[from..];
        return SplitItems(section).Select(ToPrinciple).Where(p => p.Text.Length > 0).ToArray();
    }

    private static string[] SplitItems(string section)
    {
        var lines = section.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length > 1)
            return lines;
        // One line: "1. A (30%); 2. B (70%)" or "A (30%), B (70%)".
        var single = lines.Length == 1 ? lines[0] : "";
        var numbered = InlineNumber().Split(single).Where(s => s.Trim().Length > 0).ToArray();
        return numbered.Length > 1 ? numbered : single.Split(';', StringSplitOptions.TrimEntries);
    }

    private static Principle ToPrinciple(string item)
    {
        var cleaned = ItemMarker().Replace(item, "").Replace("**", "", StringComparison.Ordinal).Trim().TrimEnd('.', ';', ',').Trim();
        double? weight = null;
        if (Percent().Match(cleaned) is { Success: true } pct)
            weight = double.Parse(pct.Groups["v"].Value, CultureInfo.InvariantCulture) / 100.0;
        else if (WeightValue().Match(cleaned) is { Success: true } w
                 && double.TryParse(w.Groups["v"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            weight = v > 1 ? v / 100.0 : v;
        return new Principle(cleaned, weight);
    }

    private static string? ReadAnalysis(string text, int scoreIndex)
    {
        var start = AnalysisLabel().Match(text);
        if (!start.Success || start.Index >= scoreIndex)
            return null;
        var from = start.Index + start.Length;
        return text[from..scoreIndex].Trim();
    }

    private static string?[] SplitCritiques(string? analysis, int n)
    {
        var critiques = new string?[Math.Max(n, 0)];
        if (string.IsNullOrWhiteSpace(analysis) || n < 1)
            return critiques;
        // Paragraphs that start "Response i:", else the paper's one-line form "Response 1: ... Response 2: ...".
        var heads = ResponseHead().Matches(analysis);
        var inline = InlineResponseHead().Matches(analysis);
        if (inline.Count > heads.Count)
            heads = inline;
        if (heads.Count == 0)
        {
            // One unlabelled paragraph can only be attributed when there is one response.
            if (n == 1)
                critiques[0] = analysis;
            return critiques;
        }
        for (var h = 0; h < heads.Count; h++)
        {
            var end = h + 1 < heads.Count ? heads[h + 1].Index : analysis.Length;
            if (int.TryParse(heads[h].Groups["i"].Value, CultureInfo.InvariantCulture, out var i) && i >= 1 && i <= n)
            {
                var body = analysis[(heads[h].Index + heads[h].Length)..end].Trim();
                critiques[i - 1] = critiques[i - 1] is null ? body : critiques[i - 1] + "\n" + body;
            }
        }
        return critiques;
    }

    private static string Clip(string token) => token.Length <= 20 ? token : token[..20] + "...";

    // A line that starts (after markdown: spaces, #, *, _, -, digits with a dot) with "Scores:"; not a quote.
    [GeneratedRegex(@"^[ \t]*(?:[#*_\-]+[ \t]*)*(?:final[ \t]+|overall[ \t]+)?scores?[ \t*_]*[:：][ \t*_]*", RegexOptions.IgnoreCase | RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex ScoreLine();

    [GeneratedRegex(@"\\boxed[ \t]*\{(?<body>[^{}\n]*)\}")]
    private static partial Regex Boxed();

    [GeneratedRegex(@"^[ \t*_$]*(?<body>[0-9 \t,;.*_]+?)[ \t*_$.]*$", RegexOptions.Multiline)]
    private static partial Regex PlainList();

    [GeneratedRegex(@"^[+]?[0-9]+$")]
    private static partial Regex IntegerToken();

    [GeneratedRegex(@"^[ \t]*(?:[#*_\-]+[ \t]*)*specific[ \t]+criteria[ \t*_]*[:：][ \t*_]*", RegexOptions.IgnoreCase | RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex CriteriaLabel();

    [GeneratedRegex(@"^[ \t]*(?:[#*_\-]+[ \t]*)*analysis[ \t*_]*[:：][ \t*_]*", RegexOptions.IgnoreCase | RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex AnalysisLabel();

    [GeneratedRegex(@"^[ \t]*(?:[#*_\-]+[ \t]*)*(?:\[[ \t]*)?response[ \t]+(?<i>[0-9]{1,3})[ \t*_\]]*[:：.\-)][ \t*_]*", RegexOptions.IgnoreCase | RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex ResponseHead();

    [GeneratedRegex(@"(?<![A-Za-z])\**response[ \t]+(?<i>[0-9]{1,3})[ \t*_]*[:：][ \t*_]*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex InlineResponseHead();

    [GeneratedRegex(@"^[ \t]*(?:[-*•]|[0-9]{1,2}[.)])[ \t]+")]
    private static partial Regex ItemMarker();

    [GeneratedRegex(@"(?:^|[ \t])(?=[0-9]{1,2}\.[ \t])")]
    private static partial Regex InlineNumber();

    [GeneratedRegex(@"(?<v>[0-9]{1,3}(?:\.[0-9]+)?)[ \t]*%")]
    private static partial Regex Percent();

    [GeneratedRegex(@"weight[ \t]*(?:of|is|=|:)?[ \t]*(?<v>[0-9]*\.?[0-9]+)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex WeightValue();
}
