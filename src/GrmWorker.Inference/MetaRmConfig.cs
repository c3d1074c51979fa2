using System.Text.Json;

namespace GrmWorker.Inference;

/// <summary>
/// A meta-RM directory's <c>meta-rm-config.json</c>: the ONNX file, the tokenizer (paths relative to the
/// directory, e.g. <c>"../tokenizer.json"</c> to share the GRM's), how many trailing tokens it reads, the
/// pad id and the input text format. <see cref="Load"/> names the file and the field in every error.
/// </summary>
public sealed record MetaRmConfig
{
    public const string FileName = "meta-rm-config.json";

    /// <summary>
    /// The only input format this engine builds (GrmWorker.Scoring's <c>MetaRmInput.Version</c>; Inference
    /// does not reference Scoring, and a test checks the two agree).
    /// </summary>
    public const string SupportedInputFormat = "meta-rm-input-v1";

    public required string ModelId { get; init; }
    public required string ModelFile { get; init; }
    public required string TokenizerFile { get; init; }
    public required int MaxTokens { get; init; }
    public required int PadTokenId { get; init; }
    public required string InputFormat { get; init; }

    /// <summary>The directory the config was read from; model and tokenizer paths are relative to it.</summary>
    public string Directory { get; init; } = "";

    public string ModelPath => Path.GetFullPath(Path.Combine(Directory, ModelFile));

    public string TokenizerPath => Path.GetFullPath(Path.Combine(Directory, TokenizerFile));

    /// <summary>Reads <c>meta-rm-config.json</c> from a meta-RM directory (or the file itself).</summary>
    public static MetaRmConfig Load(string directoryOrFile)
    {
        ArgumentException.ThrowIfNullOrEmpty(directoryOrFile);
        var (file, raw) = ConfigFile.Read<Raw>(directoryOrFile, FileName, "meta-RM");
        var config = new MetaRmConfig
        {
            ModelId = ConfigFile.Required(file, "modelId", raw.ModelId),
            ModelFile = ConfigFile.Required(file, "modelFile", raw.ModelFile),
            TokenizerFile = ConfigFile.Required(file, "tokenizerFile", raw.TokenizerFile),
            MaxTokens = raw.MaxTokens is > 0 ? raw.MaxTokens.Value
                : throw new ModelConfigException(file, "maxTokens", raw.MaxTokens is null ? "is missing" : $"must be positive, not {raw.MaxTokens}"),
            PadTokenId = raw.PadTokenId is >= 0 ? raw.PadTokenId.Value
                : throw new ModelConfigException(file, "padTokenId", raw.PadTokenId is null ? "is missing" : $"must be 0 or positive, not {raw.PadTokenId}"),
            InputFormat = ConfigFile.Required(file, "inputFormat", raw.InputFormat),
            Directory = Path.GetDirectoryName(Path.GetFullPath(file))!,
        };
        if (config.InputFormat != SupportedInputFormat)
        {
            throw new ModelConfigException(file, "inputFormat", $"is \"{config.InputFormat}\"; this worker builds \"{SupportedInputFormat}\" only");
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

    private sealed record Raw(
        string? ModelId,
        string? ModelFile,
        string? TokenizerFile,
        int? MaxTokens,
        int? PadTokenId,
        string? InputFormat);
}
