using System.Globalization;
using GrmWorker.Worker.Evaluation;
using Spectre.Console;

namespace GrmWorker.Cli.Views;

/// <summary>The `grm eval` table for people: a header line, then strategy, k, accuracy ± standard error and samples per item.</summary>
public static class EvalTable
{
    public static void Write(IAnsiConsole console, EvalMetricsReport report, EvalRunInfo info)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(info);
        console.MarkupLine(Markup.Escape(
            $"grm eval {info.DataFile}: model {info.ModelId}, meta-RM {info.MetaRmModelId ?? "none"}, {report.Items} items, k_max {report.KMax}, " +
            $"T {Num(info.Temperature)}, {info.Seconds:F1} s, {info.TokensPerSecond:F0} tokens/s"));
        var table = new Table();
        table.AddColumn("strategy");
        foreach (var column in new[] { "k", "accuracy", "± SE", "samples/item" })
            table.AddColumn(new TableColumn(column).RightAligned());
        Row(table, "greedy", "-", report.Greedy, "1");
        foreach (var (k, accuracy) in report.Voting)
            Row(table, "voting", Int(k), accuracy, Int(k));
        if (report.MetaRm is { } meta)
        {
            foreach (var (k, accuracy) in meta)
                Row(table, "meta-RM", Int(k), accuracy, Int(k));
        }
        AdaptiveRow(table, report.Adaptive, report.KMax, $"adaptive δ={Num(report.Adaptive.ErrorBound)} (setting)");
        foreach (var adaptive in report.AdaptiveSweep)
            AdaptiveRow(table, adaptive, report.KMax, $"adaptive δ={Num(adaptive.ErrorBound)}");
        console.Write(table);
        console.MarkupLine(Markup.Escape(
            $"parse-valid: samples {Pct(report.ParseValidRate)} ({report.ValidSamples}/{report.Samples}), greedy {Pct(report.GreedyParseValidRate)} ({report.GreedyValid}/{report.Items}); " +
            "a tie for the top score counts as wrong"));
    }

    private static void AdaptiveRow(Table table, AdaptiveFigures adaptive, int kMax, string strategy) =>
        Row(table, strategy, $"≤{Int(kMax)}", adaptive.Accuracy,
            $"{adaptive.MeanSamples.ToString("F2", CultureInfo.InvariantCulture)} ({Pct(adaptive.SamplesFraction)})");

    private static void Row(Table table, string strategy, string k, EvalAccuracy accuracy, string samples) =>
        table.AddRow(Markup.Escape(strategy), Markup.Escape(k), Pct(accuracy.Value), Pct(accuracy.StandardError), Markup.Escape(samples));

    private static string Pct(double value) => (100 * value).ToString("F1", CultureInfo.InvariantCulture) + "%";

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Num(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
