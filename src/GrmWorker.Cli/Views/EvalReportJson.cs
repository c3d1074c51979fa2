using System.Globalization;
using System.Text.Json;
using GrmWorker.Worker.Evaluation;

namespace GrmWorker.Cli.Views;

/// <summary>
/// The `grm eval --json` object (keys in docs/eval.md), written as every `--json` command writes (<see cref="CliJson"/>).
/// Accuracies are fractions in [0, 1]; maps by k have the k as a string key; <c>metaRm</c> is null when no meta-RM ran.
/// </summary>
public static class EvalReportJson
{
    public static string Write(EvalMetricsReport report, EvalRunInfo info)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(info);
        var json = new
        {
            data = info.DataFile,
            modelId = info.ModelId,
            metaRmModelId = info.MetaRmModelId,
            items = report.Items,
            kMax = report.KMax,
            ks = report.Voting.Keys,
            temperature = info.Temperature,
            maxNewTokens = info.MaxNewTokens,
            greedy = report.Greedy.Value,
            voting = ByK(report.Voting, a => a.Value),
            metaRm = report.MetaRm is { } meta ? ByK(meta, a => a.Value) : null,
            adaptive = Adaptive(report.Adaptive),
            adaptiveSweep = report.AdaptiveSweep.Select(Adaptive),
            standardErrors = new
            {
                greedy = report.Greedy.StandardError,
                voting = ByK(report.Voting, a => a.StandardError),
                metaRm = report.MetaRm is { } m ? ByK(m, a => a.StandardError) : null,
            },
            parseValidRate = report.ParseValidRate,
            greedyParseValidRate = report.GreedyParseValidRate,
            samples = report.Samples,
            validSamples = report.ValidSamples,
            seconds = info.Seconds,
            generatedTokens = info.GeneratedTokens,
            tokensPerSecond = info.TokensPerSecond,
        };
        return JsonSerializer.Serialize(json, CliJson.Options);
    }

    private static object Adaptive(AdaptiveFigures a) => new
    {
        errorBound = a.ErrorBound,
        accuracy = a.Accuracy.Value,
        standardError = a.Accuracy.StandardError,
        meanSamples = a.MeanSamples,
        samplesFraction = a.SamplesFraction,
    };

    private static SortedDictionary<string, double> ByK(IReadOnlyDictionary<int, EvalAccuracy> byK, Func<EvalAccuracy, double> value) =>
        new(byK.ToDictionary(p => p.Key.ToString(CultureInfo.InvariantCulture), p => value(p.Value)), new NumericKeyOrder());

    // "16" after "2": keys sort as numbers, so the object reads in k order.
    private sealed class NumericKeyOrder : IComparer<string>
    {
        public int Compare(string? x, string? y) => int.Parse(x!, CultureInfo.InvariantCulture)
            .CompareTo(int.Parse(y!, CultureInfo.InvariantCulture));
    }
}
