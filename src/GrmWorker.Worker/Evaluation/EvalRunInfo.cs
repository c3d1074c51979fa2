namespace GrmWorker.Worker.Evaluation;

/// <summary>What was run, with what, and how long it took: the header of every output.</summary>
public sealed record EvalRunInfo(
    string DataFile,
    string ModelId,
    string? MetaRmModelId,
    IReadOnlyList<int> Ks,
    double Temperature,
    int MaxNewTokens,
    double Seconds,
    long GeneratedTokens,
    double GenerationSeconds)
{
    /// <summary>Generated tokens (sampled and greedy) per second of batched generation.</summary>
    public double TokensPerSecond => GenerationSeconds > 0 ? GeneratedTokens / GenerationSeconds : 0;
}
