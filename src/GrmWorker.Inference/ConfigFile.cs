using System.Text.Json;

namespace GrmWorker.Inference;

/// <summary>
/// Reading of the small JSON configs in a model directory (grm-config.json, meta-rm-config.json): found in the
/// directory or given as the file itself, comments and trailing commas allowed; every failure a
/// <see cref="ModelConfigException"/> naming the file and, where there is one, the field.
/// </summary>
internal static class ConfigFile
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>The file's path and its content as <typeparamref name="T"/>; <paramref name="kind"/> ("model", "meta-RM") names the directory in errors.</summary>
    public static (string File, T Raw) Read<T>(string directoryOrFile, string fileName, string kind) where T : class
    {
        var file = File.Exists(directoryOrFile) ? directoryOrFile : Path.Combine(directoryOrFile, fileName);
        if (!File.Exists(file))
        {
            throw new ModelConfigException(file, null, Directory.Exists(directoryOrFile)
                ? $"{kind} directory '{directoryOrFile}' has no {fileName}"
                : $"{kind} directory '{directoryOrFile}' does not exist");
        }
        T? raw;
        try
        {
            raw = JsonSerializer.Deserialize<T>(File.ReadAllText(file), JsonOptions);
        }
        catch (JsonException ex)
        {
            throw new ModelConfigException(file, ex.Path, ex.Message, ex);
        }
        return (file, raw ?? throw new ModelConfigException(file, null, "the file holds JSON null, not an object"));
    }

    public static string Required(string file, string field, string? value) =>
        string.IsNullOrWhiteSpace(value) ? throw new ModelConfigException(file, field, "is missing or empty") : value;
}
