using GrmWorker.Inference;

namespace GrmWorker.Worker.Hosting;

/// <summary>Which GRM the worker loads: section <c>Model</c> (env <c>GRM_MODEL__DIRECTORY</c>).</summary>
public sealed class ModelOptions
{
    public const string Section = "Model";

    /// <summary>The <see cref="MetaRmDirectory"/> value that turns the meta-RM off.</summary>
    public const string NoMetaRm = "none";

    /// <summary>A directory with grm-config.json, the .onnx file and tokenizer.json; relative paths resolve from the current directory.</summary>
    public string Directory { get; set; } = Path.Combine("models", "grm-tiny");

    /// <summary>Tokens kept free beyond prompt + maxNewTokens, since shuffled prompts can tokenize a little longer.</summary>
    public int ContextMargin { get; set; } = 16;

    /// <summary>
    /// The meta-RM directory (meta-rm-config.json, its .onnx file): empty = the one grm-config.json names in
    /// <c>metaRm</c> (none when it names none), <c>none</c> = no meta-RM, else a path (relative to the current directory).
    /// </summary>
    public string MetaRmDirectory { get; set; } = "";

    internal static IEnumerable<string> Problems(ModelOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.Directory)) yield return $"{Section}:Directory is required";
        if (o.ContextMargin < 0) yield return $"{Section}:ContextMargin must be >= 0";
    }

    /// <summary>The meta-RM directory to load for a GRM with <paramref name="grm"/> as its config; null: none.</summary>
    public string? ResolveMetaRmDirectory(ModelConfig grm)
    {
        ArgumentNullException.ThrowIfNull(grm);
        if (string.Equals(MetaRmDirectory.Trim(), NoMetaRm, StringComparison.OrdinalIgnoreCase)) return null;
        return string.IsNullOrWhiteSpace(MetaRmDirectory) ? grm.MetaRmPath : Path.GetFullPath(MetaRmDirectory);
    }
}
