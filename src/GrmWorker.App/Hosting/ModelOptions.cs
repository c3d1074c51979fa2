namespace GrmWorker.App.Hosting;

/// <summary>Which GRM the worker loads: section <c>Model</c> (env <c>GRM_MODEL__DIRECTORY</c>).</summary>
public sealed class ModelOptions
{
    public const string Section = "Model";

    /// <summary>A directory with grm-config.json, the .onnx file and tokenizer.json; relative paths resolve from the current directory.</summary>
    public string Directory { get; set; } = Path.Combine("models", "tiny-random");

    /// <summary>Tokens kept free beyond prompt + maxNewTokens, since shuffled prompts can tokenize a little longer.</summary>
    public int ContextMargin { get; set; } = 16;
}
