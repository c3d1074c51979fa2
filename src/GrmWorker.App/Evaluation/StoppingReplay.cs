using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Stopping;

namespace GrmWorker.App.Evaluation;

/// <summary>
/// A stopping rule replayed round by round on stored sample streams (pure): accuracy of voting over the samples it
/// used (the true best strictly on top), agreement with full k_max voting on the same stream, samples and rounds.
/// </summary>
public static class StoppingReplay
{
    public static StoppingReplayFigures Run(IReadOnlyList<DumpedItem> items, StoppingOptions stopping)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(stopping);
        var rule = StoppingRules.For(Contracts.StoppingKind.Adaptive, stopping);
        int right = 0, agree = 0, fullRight = 0;
        double samples = 0, rounds = 0, differenceSquares = 0;
        foreach (var item in items)
        {
            var stream = item.Samples.Take(stopping.KMax).ToArray();
            var (used, roundCount) = Replay(stream, item.ResponseCount, rule);
            var early = Aggregator.Voting.Aggregate(stream[..used], item.ResponseCount);
            var full = Aggregator.Voting.Aggregate(stream, item.ResponseCount);
            var d = (Right(early, item.Best) ? 1 : 0) - (Right(full, item.Best) ? 1 : 0);
            right += Right(early, item.Best) ? 1 : 0;
            fullRight += Right(full, item.Best) ? 1 : 0;
            differenceSquares += d * d;
            agree += early.HasVotes == full.HasVotes && (!full.HasVotes || early.Best == full.Best) ? 1 : 0;
            samples += used;
            rounds += roundCount;
        }
        var n = items.Count;
        // Paired on the same items: the standard error of the per-item difference, far below either accuracy's own.
        var difference = (double)(right - fullRight) / n;
        var differenceError = n < 2 ? 0 : Math.Sqrt((differenceSquares / n - difference * difference) / (n - 1));
        return new StoppingReplayFigures(stopping.ErrorBound, new EvalAccuracy(right, n), new EvalAccuracy(fullRight, n),
            new EvalAccuracy(agree, n), samples / n / stopping.KMax, rounds / n, difference, differenceError);
    }

    /// <summary>How many of the stream the rule draws (rounds of <see cref="StoppingOptions.NextDrawCount(int, StoppingDecision?)"/>), and in how many rounds.</summary>
    private static (int Used, int Rounds) Replay(GrmSample[] stream, int responseCount, IStoppingRule rule)
    {
        var drawn = 0;
        var rounds = 0;
        StoppingDecision? last = null;
        while (rule.Options.NextDrawCount(drawn, last) is var next and > 0)
        {
            drawn += next;
            rounds++;
            last = rule.Evaluate(stream[..drawn], responseCount);
            if (last.Stop) break;
        }
        return (drawn, rounds);
    }

    private static bool Right(VoteResult result, int best) => result.HasVotes && EvalMetrics.StrictlyHighest(result.VoteSums, best);
}

/// <summary>
/// One error bound's replay: accuracy early and at k_max, top-1 agreement with k_max voting, mean share of k_max drawn,
/// mean rounds, and accuracy early minus at k_max with its paired standard error.
/// </summary>
public sealed record StoppingReplayFigures(double ErrorBound, EvalAccuracy Accuracy, EvalAccuracy FullAccuracy, EvalAccuracy Agreement,
    double SamplesFraction, double MeanRounds, double AccuracyDifference, double AccuracyDifferenceError);
