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

/// <summary>How the exported model keeps its KV cache (<c>grm-config.json</c> <c>kvCache.layout</c>).</summary>
public enum KvCacheLayout
{
    /// <summary>
    /// <c>"concat"</c> (the default; optimum's decoder-with-past): present = Concat(past, new), so every step
    /// returns a new, longer cache. Batched rows are left-padded.
    /// </summary>
    Concat,

    /// <summary>
    /// <c>"shared-buffer"</c> (onnxruntime-genai's layout): attention is <c>com.microsoft::GroupQueryAttention</c>;
    /// past and present are one [B, H, maxLength, Dh] buffer per layer, bound to both input and output and
    /// updated in place. Each row's valid KV is left-aligned (batched rows are right-padded).
    /// </summary>
    SharedBuffer,
}

/// <summary>The <c>kvCache</c> section of <c>grm-config.json</c>.</summary>
public sealed record KvCacheConfig
{
    public KvCacheLayout Layout { get; init; } = KvCacheLayout.Concat;

    /// <summary>Shared-buffer layout: the longest buffer allocated per row (null: the context length).</summary>
    public int? MaxLength { get; init; }
}

/// <summary>
/// The <c>stopping</c> section of <c>grm-config.json</c>: the adaptive stopping rule's prior fitted to this model's
/// own samples (<c>grm stopping SAMPLES.jsonl --fit</c> prints it) and, optionally, the error bound chosen for this
/// model on its held-out samples. Absent: the rule's conservative built-in prior and the worker's error bound.
/// </summary>
/// <param name="DifferenceVariance">s0²: within-pair variance of a paired score difference (points²).</param>
/// <param name="MeanWeight">κ0: s0² over the spread of the true paired means across pairs.</param>
/// <param name="VarianceWeight">ν0: how firmly s0² holds for every pair.</param>
/// <param name="ErrorBound">δ for this model (null: the worker's Stopping:ErrorBound default).</param>
public sealed record StoppingPriorConfig(double DifferenceVariance, double MeanWeight, double VarianceWeight, double? ErrorBound = null);

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

    /// <summary>KV cache layout of the export (absent: concat).</summary>
    public KvCacheConfig KvCache { get; init; } = new();

    /// <summary>The meta-RM directory that goes with this GRM, relative to <see cref="Directory"/>; null: none.</summary>
    public string? MetaRm { get; init; }

    /// <summary>The stopping rule's prior fitted to this model (null: the built-in prior).</summary>
    public StoppingPriorConfig? Stopping { get; init; }

    /// <summary>The directory the config was read from; model and tokenizer paths are relative to it.</summary>
    [JsonIgnore]
    public string Directory { get; init; } = "";

    [JsonIgnore]
    public string ModelPath => Path.Combine(Directory, ModelFile);

    [JsonIgnore]
    public string TokenizerPath => Path.Combine(Directory, TokenizerFile);

    /// <summary>Full path of the <see cref="MetaRm"/> directory; null when the config names none.</summary>
    [JsonIgnore]
    public string? MetaRmPath => MetaRm is null ? null : Path.GetFullPath(Path.Combine(Directory, MetaRm));

    /// <summary>Reads <c>grm-config.json</c> from a model directory (or the file itself).</summary>
    public static ModelConfig Load(string directoryOrFile)
    {
        var (file, raw) = ConfigFile.Read<Raw>(directoryOrFile, FileName, "model");
        var directory = Path.GetDirectoryName(Path.GetFullPath(file))!;
        var config = new ModelConfig
        {
            ModelId = ConfigFile.Required(file, "modelId", raw.ModelId),
            ModelFile = ConfigFile.Required(file, "modelFile", raw.ModelFile),
            TokenizerFile = ConfigFile.Required(file, "tokenizerFile", raw.TokenizerFile),
            ContextLength = raw.ContextLength is > 0 ? raw.ContextLength.Value
                : throw new ModelConfigException(file, "contextLength", raw.ContextLength is null ? "is missing" : $"must be positive, not {raw.ContextLength}"),
            EosTokenIds = raw.EosTokenIds is { Length: > 0 } eos ? eos
                : throw new ModelConfigException(file, "eosTokenIds", "must list at least one token id"),
            PadTokenId = raw.PadTokenId,
            BosTokenId = raw.BosTokenId,
            Chat = raw.Chat ?? new ChatTemplate(),
            StopStrings = raw.StopStrings ?? [],
            KvCache = ParseKvCache(file, raw.KvCache),
            MetaRm = raw.MetaRm is null ? null
                : !string.IsNullOrWhiteSpace(raw.MetaRm) ? raw.MetaRm : throw new ModelConfigException(file, "metaRm", "is empty; leave it out when there is no meta-RM"),
            Stopping = ParseStopping(file, raw.Stopping),
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

    private static StoppingPriorConfig? ParseStopping(string file, RawStopping? raw)
    {
        if (raw is null)
        {
            return null;
        }
        static double Positive(string file, string field, double? value) =>
            value is > 0 && double.IsFinite(value.Value) ? value.Value
                : throw new ModelConfigException(file, "stopping." + field, value is null ? "is missing" : $"must be a positive number, not {value}");
        if (raw.ErrorBound is { } bound && !(bound is > 0 and < 1))
        {
            throw new ModelConfigException(file, "stopping.errorBound", $"must be in (0, 1), not {bound}");
        }
        return new StoppingPriorConfig(
            Positive(file, "differenceVariance", raw.DifferenceVariance),
            Positive(file, "meanWeight", raw.MeanWeight),
            Positive(file, "varianceWeight", raw.VarianceWeight),
            raw.ErrorBound);
    }

    private static KvCacheConfig ParseKvCache(string file, RawKvCache? raw)
    {
        if (raw is null)
        {
            return new KvCacheConfig();
        }
        var layout = raw.Layout switch
        {
            null or "concat" => KvCacheLayout.Concat,
            "shared-buffer" => KvCacheLayout.SharedBuffer,
            _ => throw new ModelConfigException(file, "kvCache.layout", $"must be \"concat\" or \"shared-buffer\", not \"{raw.Layout}\""),
        };
        if (raw.MaxLength is < 1)
        {
            throw new ModelConfigException(file, "kvCache.maxLength", $"must be positive, not {raw.MaxLength}");
        }
        return new KvCacheConfig { Layout = layout, MaxLength = raw.MaxLength };
    }

    private sealed record Raw(
        string? ModelId,
        string? ModelFile,
        string? TokenizerFile,
        int? ContextLength,
        int[]? EosTokenIds,
        int? PadTokenId,
        int? BosTokenId,
        ChatTemplate? Chat,
        string[]? StopStrings,
        RawKvCache? KvCache,
        string? MetaRm,
        RawStopping? Stopping);

    private sealed record RawStopping(double? DifferenceVariance, double? MeanWeight, double? VarianceWeight, double? ErrorBound);

    private sealed record RawKvCache(string? Layout, int? MaxLength);
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
