using System.Text;

namespace GrmWorker.Scoring.Prompting;

/// <summary>
/// The text a meta reward model reads for one GRM sample: the query, the responses in the order the
/// sample was shown them, then what the GRM wrote (principles, critiques, scores). Pure and free of
/// chat markers; <c>models/meta_rm.py</c> <c>build_input</c> builds the same bytes for training.
/// </summary>
public static class MetaRmInput
{
    /// <summary>Names this format in <c>meta-rm-config.json</c> (<c>inputFormat</c>).</summary>
    public const string Version = "meta-rm-input-v1";

    /// <summary>
    /// <c>"Query:\n" + query + "\n\n"</c>, then per shown position p (1-based) <c>"[Response p]\n" + response + "\n\n"</c>,
    /// then <c>"[Judgement]\n" + generated</c>.
    /// </summary>
    public static string Build(string query, IReadOnlyList<string> shownResponses, string generated)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(shownResponses);
        ArgumentNullException.ThrowIfNull(generated);
        var text = new StringBuilder(query.Length + generated.Length + 64 + shownResponses.Sum(r => r.Length + 20));
        text.Append("Query:\n").Append(query).Append("\n\n");
        for (var p = 0; p < shownResponses.Count; p++)
        {
            text.Append("[Response ").Append(p + 1).Append("]\n").Append(shownResponses[p]).Append("\n\n");
        }
        text.Append("[Judgement]\n").Append(generated);
        return text.ToString();
    }
}
