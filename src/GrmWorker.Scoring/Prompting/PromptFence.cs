using System.Text.RegularExpressions;

namespace GrmWorker.Scoring.Prompting;

/// <summary>
/// Makes user text (query, responses, reference) unable to close a response fence or impersonate
/// the instructions. The rule, applied before the text is placed in the prompt:
/// <list type="number">
/// <item>a <c>[</c> that opens "The Begin/End of Response" (any case, any spacing) becomes <c>(</c>,
/// so only the builder's own line-anchored fences read as fences;</item>
/// <item>a run of four or more <c>#</c> at a line start (the template's section headers) becomes <c>###</c>;</item>
/// <item><c>\boxed</c> loses its backslash and <c>Scores:</c> (any case, spacing, bold) becomes
/// <c>Scores -</c>, so a response cannot supply a score line the parser would read, even if the
/// model quotes it;</item>
/// <item>each chat marker of the model (e.g. <c>&lt;|im_start|&gt;</c>) gets a space after its first
/// character, so the tokenizer cannot turn it into a special token.</item>
/// </list>
/// The changes are small and visible, so the judged content stays readable.
/// </summary>
public static partial class PromptFence
{
    public static string Neutralise(string text, ChatFormat chat)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(chat);
        var result = FenceLookAlike().Replace(text, "(");
        result = HeaderLookAlike().Replace(result, "$1###");
        result = BoxedLookAlike().Replace(result, "boxed");
        result = ScoresLookAlike().Replace(result, "Scores -");
        foreach (var marker in chat.Markers())
            result = result.Replace(marker, string.Concat(marker.AsSpan(0, 1), " ", marker.AsSpan(1)), StringComparison.Ordinal);
        return result;
    }

    [GeneratedRegex(@"\[(?=\s*the\s+(begin|end)\s+of\s+response)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex FenceLookAlike();

    [GeneratedRegex(@"^([ \t]*)#{4,}", RegexOptions.Multiline)]
    private static partial Regex HeaderLookAlike();

    [GeneratedRegex(@"\\+boxed", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex BoxedLookAlike();

    [GeneratedRegex(@"scores?[\s*_]*[:：]", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ScoresLookAlike();
}
