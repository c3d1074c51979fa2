using System.Text.Json;

namespace GrmWorker.Worker.Evaluation;

/// <summary>
/// Reads an evaluation JSONL file, one item per line:
/// <c>{"id": optional string, "query": string, "responses": [2+ strings], "best": int, "reference": optional string}</c>.
/// Other fields are ignored; blank lines are skipped. Every line is checked before anything runs, and the first bad
/// one throws an <see cref="EvalDataException"/> naming the file, line and field.
/// </summary>
public static class EvalDataReader
{
    public static async Task<IReadOnlyList<EvalItem>> ReadAsync(string path, int? limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"evaluation data file '{path}' does not exist", path);
        var lines = await File.ReadAllLinesAsync(path, cancellationToken);
        return Parse(path, lines, limit);
    }

    /// <summary>Items of <paramref name="lines"/> (the whole file is checked even when <paramref name="limit"/> keeps fewer).</summary>
    public static IReadOnlyList<EvalItem> Parse(string file, IReadOnlyList<string> lines, int? limit = null)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var items = new List<EvalItem>();
        for (var i = 0; i < lines.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            items.Add(ParseLine(file, i + 1, lines[i], items.Count));
        }
        if (items.Count == 0) throw new EvalDataException(file, lines.Count, null, "the file holds no items");
        return limit is { } n && n < items.Count ? items.GetRange(0, n) : items;
    }

    private static EvalItem ParseLine(string file, int line, string text, int index)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new EvalDataException(file, line, null, $"not valid JSON ({ex.Message})", ex);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new EvalDataException(file, line, null, $"expected a JSON object, found {root.ValueKind}");
            var id = OptionalString(file, line, root, "id");
            if (id is not null && string.IsNullOrWhiteSpace(id)) throw new EvalDataException(file, line, "id", "must not be empty when given");
            var query = RequiredString(file, line, root, "query");
            var responses = Responses(file, line, root);
            var best = Best(file, line, root, responses.Length);
            var reference = OptionalString(file, line, root, "reference");
            return new EvalItem(index, line, id, query, responses, best, reference);
        }
    }

    private static string RequiredString(string file, int line, JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var value)) throw new EvalDataException(file, line, field, "is missing");
        if (value.ValueKind != JsonValueKind.String) throw new EvalDataException(file, line, field, $"must be a string, not {value.ValueKind}");
        var text = value.GetString()!;
        if (string.IsNullOrWhiteSpace(text)) throw new EvalDataException(file, line, field, "must not be empty");
        return text;
    }

    private static string? OptionalString(string file, int line, JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.String) throw new EvalDataException(file, line, field, $"must be a string or null, not {value.ValueKind}");
        return value.GetString();
    }

    private static string[] Responses(string file, int line, JsonElement root)
    {
        if (!root.TryGetProperty("responses", out var value)) throw new EvalDataException(file, line, "responses", "is missing");
        if (value.ValueKind != JsonValueKind.Array) throw new EvalDataException(file, line, "responses", $"must be an array of strings, not {value.ValueKind}");
        var responses = new string[value.GetArrayLength()];
        if (responses.Length < 2) throw new EvalDataException(file, line, "responses", $"must hold at least 2 responses, not {responses.Length}");
        var i = 0;
        foreach (var element in value.EnumerateArray())
        {
            if (element.ValueKind != JsonValueKind.String) throw new EvalDataException(file, line, $"responses[{i}]", $"must be a string, not {element.ValueKind}");
            responses[i++] = element.GetString()!;
        }
        return responses;
    }

    private static int Best(string file, int line, JsonElement root, int responseCount)
    {
        if (!root.TryGetProperty("best", out var value)) throw new EvalDataException(file, line, "best", "is missing");
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var best))
            throw new EvalDataException(file, line, "best", $"must be an integer index into responses, not {value.GetRawText()}");
        if (best < 0 || best >= responseCount)
            throw new EvalDataException(file, line, "best", $"is {best}, outside 0..{responseCount - 1} (responses holds {responseCount})");
        return best;
    }
}
