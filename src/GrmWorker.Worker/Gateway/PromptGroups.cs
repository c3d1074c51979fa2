using System.Text.Json;
using GrmWorker.Contracts;

namespace GrmWorker.Worker.Gateway;

/// <summary>
/// OpenRLHF's remote reward call (<c>{"query": [...], "prompts": [...], "labels": [...]}</c>, query = prompt +
/// response) as GRM jobs: one job per distinct prompt with all its responses (a GRM judges them together), the label
/// as the job's reference. Pure: no I/O.
/// </summary>
public static class PromptGroups
{
    /// <summary>The jobs of <paramref name="body"/>, in order of first appearance, or the problem naming the field.</summary>
    public static (IReadOnlyList<PromptGroup>? Groups, string? Problem) From(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object) return (null, "the body must be a JSON object with query, prompts and labels");
        if (Strings(body, "query", required: true, out var queries) is { } queryProblem) return (null, queryProblem);
        if (queries!.Count == 0) return (null, "query must hold at least one text");
        if (Strings(body, "prompts", required: true, out var prompts) is { } promptProblem) return (null, promptProblem);
        if (prompts!.Count != queries.Count) return (null, $"prompts must have one entry per query ({queries.Count}), not {prompts.Count}");
        if (Strings(body, "labels", required: false, out var labels) is { } labelProblem) return (null, labelProblem);
        if (labels is not null && labels.Count != queries.Count) return (null, $"labels must have one entry per query ({queries.Count}), not {labels.Count}");

        var groups = new Dictionary<string, PromptGroup>(StringComparer.Ordinal);
        var order = new List<PromptGroup>();
        for (var i = 0; i < queries.Count; i++)
        {
            var prompt = prompts[i]!;
            var query = queries[i]!;
            if (!query.StartsWith(prompt, StringComparison.Ordinal))
                return (null, $"query[{i}] does not start with prompts[{i}] (query is the prompt followed by the response)");
            if (!groups.TryGetValue(prompt, out var group))
            {
                groups[prompt] = group = new PromptGroup(prompt, labels?[i], i);
                order.Add(group);
            }
            else if (!string.Equals(group.Label, labels?[i], StringComparison.Ordinal))
            {
                return (null, $"labels[{i}] differs from labels[{group.FirstIndex}] for the same prompt; a prompt has one reference");
            }
            group.Add(i, query[prompt.Length..]);
        }
        return (order, null);
    }

    private static string? Strings(JsonElement body, string name, bool required, out List<string?>? values)
    {
        values = null;
        if (!body.TryGetProperty(name, out var array) || array.ValueKind == JsonValueKind.Null)
            return required ? $"{name} is required (a list of strings)" : null;
        if (array.ValueKind != JsonValueKind.Array) return $"{name} must be a list of strings";
        values = [];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String)
            {
                // A lone surrogate (\ud800) or bytes that are not UTF-8 parse, but are no text: GetString would throw.
                if (!RequestRules.TryGetText(item, out var text, out var notText)) return $"{name}[{i}] {notText}";
                values.Add(text);
            }
            else if (item.ValueKind == JsonValueKind.Null && !required) values.Add(null);
            else return $"{name}[{i}] must be a string";
            i++;
        }
        return null;
    }
}

/// <summary>One prompt and its responses: the index of each in the call, and the response text (query minus prompt).</summary>
public sealed class PromptGroup(string prompt, string? label, int firstIndex)
{
    private readonly List<(int Index, string Response)> _items = [];

    public string Prompt { get; } = prompt;

    public string? Label { get; } = label;

    public int FirstIndex { get; } = firstIndex;

    public IReadOnlyList<(int Index, string Response)> Items => _items;

    internal void Add(int index, string response) => _items.Add((index, response));

    /// <summary>The job for this group under a fresh requestId.</summary>
    public ScoreRequest ToRequest() => new()
    {
        RequestId = $"gw-{Guid.NewGuid():N}",
        Query = Prompt,
        Responses = [.. _items.Select(i => i.Response)],
        Reference = string.IsNullOrEmpty(Label) ? null : Label,
    };
}
