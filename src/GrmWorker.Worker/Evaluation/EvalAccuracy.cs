namespace GrmWorker.Worker.Evaluation;

/// <summary>Items judged right out of items judged, with the binomial standard error √(p(1−p)/n).</summary>
public sealed record EvalAccuracy(int Correct, int Items)
{
    public double Value => Items == 0 ? 0 : (double)Correct / Items;

    public double StandardError => Items == 0 ? 0 : Math.Sqrt(Value * (1 - Value) / Items);
}

/// <summary>Adaptive stopping with error bound δ replayed on each item's sample stream: accuracy of voting over the samples it used, and how many.</summary>
public sealed record AdaptiveFigures(double ErrorBound, EvalAccuracy Accuracy, double MeanSamples, double SamplesFraction);

/// <summary>
/// Every figure of one evaluation; accuracies by k in ascending k. <see cref="MetaRm"/> is null when no meta-RM ran.
/// <see cref="Adaptive"/> is the worker's configured rule; <see cref="AdaptiveSweep"/> the same rule at other error bounds
/// (ascending δ, without the configured one), replayed on the same samples.
/// </summary>
public sealed record EvalMetricsReport(
    int Items,
    int KMax,
    EvalAccuracy Greedy,
    IReadOnlyDictionary<int, EvalAccuracy> Voting,
    IReadOnlyDictionary<int, EvalAccuracy>? MetaRm,
    AdaptiveFigures Adaptive,
    int Samples,
    int ValidSamples,
    int GreedyValid,
    IReadOnlyList<AdaptiveFigures> AdaptiveSweep)
{
    public double ParseValidRate => Samples == 0 ? 0 : (double)ValidSamples / Samples;

    public double GreedyParseValidRate => Items == 0 ? 0 : (double)GreedyValid / Items;
}
