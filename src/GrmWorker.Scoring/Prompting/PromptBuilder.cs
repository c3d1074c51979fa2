using System.Text;
using GrmWorker.Scoring.Sampling;

namespace GrmWorker.Scoring.Prompting;

/// <summary>
/// Builds the full prompt text of one sample: the template, the fenced query and responses in the
/// sample's own order, and the model's chat markers. Pure: the same input gives the same bytes.
/// </summary>
public sealed class PromptBuilder(ChatFormat chat, string? systemText = null)
{
    public static string PromptVersion => PromptTemplate.Version;

    public string Build(PromptInput input, Permutation permutation) => string.Concat(BuildPieces(input, permutation));

    /// <summary>
    /// The prompt of <see cref="Build"/> cut where the shown order matters: [head … first begin fence], then per
    /// shown response its fenced text (ending in a newline) and the fences after it ([end p][begin p+1], or the last
    /// end fence and the tail). Pieces at even indices do not depend on the shown order, odd ones are the responses,
    /// so every shown order of one job is a rearrangement of the same few strings (see PromptPieceEncoder).
    /// </summary>
    public IReadOnlyList<string> BuildPieces(PromptInput input, Permutation permutation)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(permutation);
        var shown = permutation.ToShown(input.Responses);
        var pieces = new List<string>(2 * shown.Length + 1);
        var head = new StringBuilder();
        if (!string.IsNullOrEmpty(systemText))
            head.Append(chat.SystemPrefix).Append(systemText).Append(chat.SystemSuffix);
        head.Append(chat.UserPrefix);
        AppendBodyHead(head, input);
        for (var p = 0; p < shown.Length; p++)
        {
            // Fences sit on their own lines; the fenced text cannot spell one (see PromptFence).
            var fences = p == 0 ? head : new StringBuilder();
            if (p > 0) fences.Append(PromptTemplate.EndFence(p - 1)).Append('\n');
            fences.Append(PromptTemplate.BeginFence(p)).Append('\n');
            pieces.Add(fences.ToString());
            pieces.Add(Fence(shown[p]).TrimEnd('\n', '\r') + "\n");
        }
        var tail = new StringBuilder();
        if (shown.Length > 0) tail.Append(PromptTemplate.EndFence(shown.Length - 1)).Append('\n');
        tail.Append('\n').Append(PromptTemplate.OutputFormat).Append(chat.UserSuffix).Append(chat.AssistantPrefix);
        pieces.Add(tail.ToString());
        return pieces;
    }

    /// <summary>The user turn without chat markers.</summary>
    public string BuildBody(PromptInput input, Permutation permutation)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(permutation);
        var shown = permutation.ToShown(input.Responses);
        var text = new StringBuilder();
        AppendBodyHead(text, input);
        for (var p = 0; p < shown.Length; p++)
        {
            text.Append(PromptTemplate.BeginFence(p)).Append('\n');
            text.Append(Fence(shown[p]).TrimEnd('\n', '\r')).Append('\n');
            text.Append(PromptTemplate.EndFence(p)).Append('\n');
        }
        text.Append('\n').Append(PromptTemplate.OutputFormat);
        return text.ToString();
    }

    /// <summary>Everything of the user turn before the first response's begin fence.</summary>
    private void AppendBodyHead(StringBuilder text, PromptInput input)
    {
        text.Append(PromptTemplate.Preamble).Append("\n\n");
        text.Append(PromptTemplate.GeneralCriteria).Append("\n\n");
        text.Append("#### Conversation Context ####\n").Append(Fence(input.Query)).Append("\n\n");
        if (!string.IsNullOrWhiteSpace(input.Reference))
        {
            text.Append("#### Reference Answer ####\n").Append(PromptTemplate.ReferenceNote).Append('\n');
            text.Append(Fence(input.Reference)).Append("\n\n");
        }
        text.Append("#### Responses to be Scored ####\n");
    }

    private string Fence(string text) => PromptFence.Neutralise(text, chat);
}
