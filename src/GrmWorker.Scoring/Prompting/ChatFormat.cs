namespace GrmWorker.Scoring.Prompting;

/// <summary>
/// The chat markers of a model family, read from the model's config (<c>"chat": {...}</c>) by the
/// inference layer. The prompt is <c>[systemPrefix system systemSuffix] userPrefix body userSuffix
/// assistantPrefix</c>; the system part is left out when there is no system text.
/// </summary>
public sealed record ChatFormat(
    string SystemPrefix,
    string SystemSuffix,
    string UserPrefix,
    string UserSuffix,
    string AssistantPrefix)
{
    /// <summary>No markers at all: the raw body, for tests and base models.</summary>
    public static ChatFormat Plain { get; } = new("", "\n\n", "", "\n\n", "");

    /// <summary>The non-empty markers, trimmed; user text must not be able to spell them.</summary>
    public IEnumerable<string> Markers() =>
        new[] { SystemPrefix, SystemSuffix, UserPrefix, UserSuffix, AssistantPrefix }
            .Select(m => m.Trim())
            .Where(m => m.Length > 1)
            .Distinct(StringComparer.Ordinal);
}
