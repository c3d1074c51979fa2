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

    public string Build(PromptInput input, Permutation permutation)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(permutation);
        var body = BuildBody(input, permutation);
        var prompt = new StringBuilder();
        if (!string.IsNullOrEmpty(systemText))
            prompt.Append(chat.SystemPrefix).Append(systemText).Append(chat.SystemSuffix);
        prompt.Append(chat.UserPrefix).Append(body).Append(chat.UserSuffix).Append(chat.AssistantPrefix);
        return prompt.ToString();
    }

    /// <summary>The user turn without chat markers.</summary>
    public string BuildBody(PromptInput input, Permutation permutation)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(permutation);
        var shown = permutation.ToShown(input.Responses);
        var text = new StringBuilder();
        text.Append(PromptTemplate.Preamble).Append("\n\n");
        text.Append(PromptTemplate.GeneralCriteria).Append("\n\n");
        text.Append("#### Conversation Context ####\n").Append(Fence(input.Query)).Append("\n\n");
        if (!string.IsNullOrWhiteSpace(input.Reference))
        {
            text.Append("#### Reference Answer ####\n").Append(PromptTemplate.ReferenceNote).Append('\n');
            text.Append(Fence(input.Reference)).Append("\n\n");
        }
        text.Append("#### Responses to be Scored ####\n");
        for (var p = 0; p < shown.Length; p++)
        {
            // Fences sit on their own lines; the fenced text cannot spell one (see PromptFence).
            text.Append(PromptTemplate.BeginFence(p)).Append('\n');
            text.Append(Fence(shown[p]).TrimEnd('\n', '\r')).Append('\n');
            text.Append(PromptTemplate.EndFence(p)).Append('\n');
        }
        text.Append('\n').Append(PromptTemplate.OutputFormat);
        return text.ToString();
    }

    private string Fence(string text) => PromptFence.Neutralise(text, chat);
}
