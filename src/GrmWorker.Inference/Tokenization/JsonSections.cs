using System.Text.Json;

namespace GrmWorker.Inference.Tokenization;

/// <summary>The properties of one JSON object, each parsed on its own while the rest of the file
/// is streamed; disposes the documents.</summary>
internal sealed class JsonSections : IDisposable
{
    private readonly Dictionary<string, JsonDocument> _documents = new(StringComparer.Ordinal);

    /// <summary>Parses the value the reader is on (a later duplicate wins, as in serde).</summary>
    public void Add(string name, ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new JsonException($"no value for property '{name}'");
        }

        var document = JsonDocument.ParseValue(ref reader);
        if (_documents.Remove(name, out var old))
        {
            old.Dispose();
        }

        _documents[name] = document;
    }

    public bool Has(string name) => _documents.ContainsKey(name);

    /// <summary>The property as a field named `parentPath.name`; a null field when absent.</summary>
    public JsonField Get(string name, string parentPath) =>
        new(_documents.TryGetValue(name, out var document) ? document.RootElement : default, $"{parentPath}.{name}");

    public byte[] RawUtf8(string name) => System.Text.Encoding.UTF8.GetBytes(_documents[name].RootElement.GetRawText());

    public void Dispose()
    {
        foreach (var document in _documents.Values)
        {
            document.Dispose();
        }

        _documents.Clear();
    }
}
