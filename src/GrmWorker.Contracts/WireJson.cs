using System.Text.Json;
using System.Text.Json.Serialization;

namespace GrmWorker.Contracts;

/// <summary>The serializer settings of the wire: camelCase names, nulls left out when writing, no key twice.</summary>
public static class WireJson
{
    /// <summary>Shared, read-only options for requests and results on the wire.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            // Senders are other languages; a number sent as a string is their bug, not ours to guess.
            NumberHandling = JsonNumberHandling.Strict,
            // A key given twice is an error, not "the last one wins" (the worker's broker deserializer does the same).
            AllowDuplicateProperties = false,
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
