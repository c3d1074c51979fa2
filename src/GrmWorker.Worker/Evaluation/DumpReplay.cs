using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Stopping;

namespace GrmWorker.Worker.Evaluation;

/// <summary>
/// A stopping rule replayed round by round on stored sample streams (pure): accuracy of voting over the samples it
/// used (the true best strictly on top), agreement with full k_max voting on the same stream, samples and rounds.
/// </summary>
public static class DumpReplay
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
            var (used, roundCount) = StoppingReplay.Run(rule, stream, item.ResponseCount);
            var early = Aggregator.Voting.Aggregate(stream[..used], item.ResponseCount);
            var full = Aggregator.Voting.Aggregate(stream, item.ResponseCount);
            var earlyRight = Right(early, item.Best) ? 1 : 0;
            var fullIsRight = Right(full, item.Best) ? 1 : 0;
            right += earlyRight;
            fullRight += fullIsRight;
            differenceSquares += (earlyRight - fullIsRight) * (earlyRight - fullIsRight);
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

    private static bool Right(VoteResult result, int best) => result.HasVotes && EvalMetrics.StrictlyHighest(result.VoteSums, best);
}

/// <summary>
/// One error bound's replay: accuracy early and at k_max, top-1 agreement with k_max voting, mean share of k_max drawn,
/// mean rounds, and accuracy early minus at k_max with its paired standard error.
/// </summary>
public sealed record StoppingReplayFigures(double ErrorBound, EvalAccuracy Accuracy, EvalAccuracy FullAccuracy, EvalAccuracy Agreement,
    double SamplesFraction, double MeanRounds, double AccuracyDifference, double AccuracyDifferenceError);
