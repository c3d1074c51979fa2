namespace GrmWorker.Worker.Pipeline;

/// <summary>
/// What the scoring pipeline needs from a meta reward model: one score per GRM sample text
/// (<see cref="Scoring.Prompting.MetaRmInput.Build"/>), higher = the sample more likely ranked the best response first.
/// <see cref="MetaRmScorer"/> runs the ONNX meta-RM.
/// </summary>
public interface IMetaScorer
{
    /// <summary>The meta-RM's model id; null when the worker runs without one (then <c>meta-rm</c> aggregation is refused).</summary>
    string? ModelId { get; }

    /// <summary>One score per text, in order. Called once per round with the valid samples of every job in it.</summary>
    Task<float[]> ScoreAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken);
}
