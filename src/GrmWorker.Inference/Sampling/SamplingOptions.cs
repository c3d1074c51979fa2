namespace GrmWorker.Inference.Sampling;

/// <summary>
/// How the next token is drawn from logits. Greedy (or temperature 0) takes the argmax; otherwise
/// logits / temperature go through softmax, then top-k (0 = off) and top-p (1 = off) filters.
/// </summary>
public sealed record SamplingOptions
{
    public float Temperature { get; init; } = 1.0f;

    public float TopP { get; init; } = 1.0f;

    public int TopK { get; init; }

    public bool Greedy { get; init; }

    public static SamplingOptions GreedyDecoding { get; } = new() { Greedy = true };

    internal bool IsGreedy => Greedy || Temperature == 0f;

    public void Validate()
    {
        if (float.IsNaN(Temperature) || Temperature < 0f)
        {
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "Temperature must be >= 0 (0 = greedy).");
        }
        if (float.IsNaN(TopP) || TopP <= 0f || TopP > 1f)
        {
            throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "TopP must be in (0, 1].");
        }
        if (TopK < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "TopK must be >= 0 (0 = off).");
        }
    }
}
