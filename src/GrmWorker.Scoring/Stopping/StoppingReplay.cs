using GrmWorker.Scoring.Aggregation;

namespace GrmWorker.Scoring.Stopping;

/// <summary>
/// A stopping rule run on a sample stream drawn in advance, round by round exactly as a worker job draws
/// (<see cref="StoppingOptions.NextDrawCount(int, StoppingDecision?)"/>, the rule asked after each round). The one
/// copy of that loop for the simulator, `grm eval` and `grm stopping`.
/// </summary>
public static class StoppingReplay
{
    /// <returns>How many samples of the stream the rule drew, and in how many rounds.</returns>
    public static (int Drawn, int Rounds) Run(IStoppingRule rule, GrmSample[] stream, int responseCount)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(stream);
        var drawn = 0;
        var rounds = 0;
        StoppingDecision? last = null;
        while (rule.Options.NextDrawCount(drawn, last) is var next and > 0)
        {
            drawn += next;
            rounds++;
            if (drawn > stream.Length) throw new ArgumentException($"the rule wants {drawn} samples; only {stream.Length} were drawn", nameof(stream));
            last = rule.Evaluate(new ArraySegment<GrmSample>(stream, 0, drawn), responseCount);
            if (last.Stop) break;
        }
        return (drawn, rounds);
    }
}
