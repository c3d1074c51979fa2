namespace GrmWorker.Worker.Pipeline;

/// <summary>
/// What the scoring pipeline needs from a meta reward model: one score per GRM sample text
/// (<see cref="Scoring.Prompting.MetaRmInput.Build"/>), higher = the sample more likely ranked the best response first.
/// <see cref="MetaRmScorer"/> runs the ONNX meta-RM. A worker without one has <see cref="MetaScorerAvailability.None"/>.
/// </summary>
public interface IMetaScorer
{
    /// <summary>The meta-RM's model id, as results and rows name it.</summary>
    string ModelId { get; }

    /// <summary>One score per text, in order. Called once per round with the valid samples of every job in it.</summary>
    Task<float[]> ScoreAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken);
}
