using System.Text.Json;

namespace GrmWorker.Inference.Tokenization;

/// <summary>
/// Typed reads of tokenizer.json fields that fail with the field's path (e.g. `model.merges[3]`),
/// so a malformed file is reported as "which field, what was wrong" rather than a JSON stack trace.
/// </summary>
internal readonly record struct JsonField(JsonElement Element, string Path)
{
    public JsonValueKind Kind => Element.ValueKind;

    public bool IsNull => Element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined;

    public JsonField Required(string name)
    {
        var child = Optional(name);
        return child.IsNull ? throw Error($"{Path}.{name}", "is missing") : child;
    }

    /// <summary>The named property, or a null field when absent.</summary>
    public JsonField Optional(string name)
    {
        if (Element.ValueKind != JsonValueKind.Object)
        {
            throw Error(Path, $"must be an object, found {Element.ValueKind}");
        }

        return Element.TryGetProperty(name, out var value)
            ? new JsonField(value, $"{Path}.{name}")
            : new JsonField(default, $"{Path}.{name}");
    }

    public string GetString() =>
        Element.ValueKind == JsonValueKind.String
            ? Element.GetString()!
            : throw Error(Path, $"must be a string, found {Element.ValueKind}");

    public string? GetStringOrNull() => IsNull ? null : GetString();

    public bool GetBool(bool fallback) => Element.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null or JsonValueKind.Undefined => fallback,
        _ => throw Error(Path, $"must be true or false, found {Element.ValueKind}"),
    };

    public int GetInt32() =>
        Element.ValueKind == JsonValueKind.Number && Element.TryGetInt32(out var value) && value >= 0
            ? value
            : throw Error(Path, $"must be a non-negative 32-bit integer, found {Element}");

    public IEnumerable<JsonField> Items()
    {
        if (Element.ValueKind != JsonValueKind.Array)
        {
            throw Error(Path, $"must be an array, found {Element.ValueKind}");
        }

        var i = 0;
        foreach (var item in Element.EnumerateArray())
        {
            yield return new JsonField(item, $"{Path}[{i++}]");
        }
    }

    public IEnumerable<(string Name, JsonField Value)> Properties()
    {
        if (Element.ValueKind != JsonValueKind.Object)
        {
            throw Error(Path, $"must be an object, found {Element.ValueKind}");
        }

        foreach (var property in Element.EnumerateObject())
        {
            yield return (property.Name, new JsonField(property.Value, $"{Path}.{property.Name}"));
        }
    }

    /// <summary>The `type` discriminator of a component (normalizer, decoder...).</summary>
    public string TypeName() => Required("type").GetString();

    public TokenizerFormatException Unsupported(string what) =>
        Error($"{Path}.type", $"{what} '{TypeName()}' is not supported");

    public static TokenizerFormatException Error(string path, string problem) =>
        new($"{path} {problem}");
}
