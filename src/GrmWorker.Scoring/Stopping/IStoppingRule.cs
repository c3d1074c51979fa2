using GrmWorker.Scoring.Aggregation;

namespace GrmWorker.Scoring.Stopping;

/// <summary>Decides after each round whether a job has drawn enough samples.</summary>
public interface IStoppingRule
{
    StoppingOptions Options { get; }

    /// <param name="drawn">Every sample drawn so far, valid or not, in draw order.</param>
    /// <param name="responseCount">n, the number of responses being scored.</param>
    StoppingDecision Evaluate(IReadOnlyList<GrmSample> drawn, int responseCount);
}
