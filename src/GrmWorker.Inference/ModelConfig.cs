using System.Text.Json;
using System.Text.Json.Serialization;

namespace GrmWorker.Inference;

/// <summary>Chat markers written around turns in the prompt.</summary>
public sealed record ChatTemplate
{
    public string SystemPrefix { get; init; } = "";
    public string SystemSuffix { get; init; } = "";
    public string UserPrefix { get; init; } = "";
    public string UserSuffix { get; init; } = "";
    public string AssistantPrefix { get; init; } = "";
}

/// <summary>
/// A model directory's <c>grm-config.json</c>: which files hold the model and tokenizer, the context
/// length, EOS/pad/BOS ids, chat markers and stop strings. <see cref="Load"/> names the file and the field
/// in every error.
/// </summary>
public sealed record ModelConfig
{
    public const string FileName = "grm-config.json";

    public required string ModelId { get; init; }
    public required string ModelFile { get; init; }
    public required string TokenizerFile { get; init; }
    public required int ContextLength { get; init; }
    public required IReadOnlyList<int> EosTokenIds { get; init; }
    public int? PadTokenId { get; init; }
    public int? BosTokenId { get; init; }
    public ChatTemplate Chat { get; init; } = new();
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>The directory the config was read from; model and tokenizer paths are relative to it.</summary>
    [JsonIgnore]
    public string Directory { get; init; } = "";

    [JsonIgnore]
    public string ModelPath => Path.Combine(Directory, ModelFile);

    [JsonIgnore]
    public string TokenizerPath => Path.Combine(Directory, TokenizerFile);

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Reads <c>grm-config.json</c> from a model directory (or the file itself).</summary>
    public static ModelConfig Load(string directoryOrFile)
    {
        var file = File.Exists(directoryOrFile) ? directoryOrFile : Path.Combine(directoryOrFile, FileName);
        if (!File.Exists(file))
        {
            throw new ModelConfigException(file, null, System.IO.Directory.Exists(directoryOrFile)
                ? $"model directory '{directoryOrFile}' has no {FileName}"
                : $"model directory '{directoryOrFile}' does not exist");
        }
        Raw? raw;
        try
        {
            raw = JsonSerializer.Deserialize<Raw>(File.ReadAllText(file), JsonOptions);
        }
        catch (JsonException ex)
        {
            throw new ModelConfigException(file, ex.Path, ex.Message, ex);
        }
        if (raw is null)
        {
            throw new ModelConfigException(file, null, "the file holds JSON null, not an object");
        }
        var directory = Path.GetDirectoryName(Path.GetFullPath(file))!;
        var config = new ModelConfig
        {
            ModelId = Required(file, "modelId", raw.ModelId),
            ModelFile = Required(file, "modelFile", raw.ModelFile),
            TokenizerFile = Required(file, "tokenizerFile", raw.TokenizerFile),
            ContextLength = raw.ContextLength is > 0 ? raw.ContextLength.Value
                : throw new ModelConfigException(file, "contextLength", raw.ContextLength is null ? "is missing" : $"must be positive, not {raw.ContextLength}"),
            EosTokenIds = raw.EosTokenIds is { Length: > 0 } eos ? eos
                : throw new ModelConfigException(file, "eosTokenIds", "must list at least one token id"),
            PadTokenId = raw.PadTokenId,
            BosTokenId = raw.BosTokenId,
            Chat = raw.Chat ?? new ChatTemplate(),
            StopStrings = raw.StopStrings ?? [],
            Directory = directory,
        };
        if (config.StopStrings.Any(string.IsNullOrEmpty))
        {
            throw new ModelConfigException(file, "stopStrings", "must not contain empty strings");
        }
        if (!File.Exists(config.ModelPath))
        {
            throw new ModelConfigException(file, "modelFile", $"names '{config.ModelFile}', but {config.ModelPath} does not exist");
        }
        if (!File.Exists(config.TokenizerPath))
        {
            throw new ModelConfigException(file, "tokenizerFile", $"names '{config.TokenizerFile}', but {config.TokenizerPath} does not exist");
        }
        return config;
    }

    private static string Required(string file, string field, string? value) =>
        string.IsNullOrWhiteSpace(value) ? throw new ModelConfigException(file, field, "is missing or empty") : value;

    private sealed record Raw(
        string? ModelId,
        string? ModelFile,
        string? TokenizerFile,
        int? ContextLength,
        int[]? EosTokenIds,
        int? PadTokenId,
        int? BosTokenId,
        ChatTemplate? Chat,
        string[]? StopStrings);
}

/// <summary>A model config file is missing, unreadable or has a bad field.</summary>
public sealed class ModelConfigException : Exception
{
    public ModelConfigException()
    {
    }

    public ModelConfigException(string message)
        : base(message)
    {
    }

    public ModelConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ModelConfigException(string file, string? field, string problem, Exception? innerException = null)
        : base(field is null ? $"{file}: {problem}" : $"{file}: field '{field}' {problem}", innerException)
    {
        File = file;
        Field = field;
    }

    public string File { get; } = "";

    public string? Field { get; }
}
