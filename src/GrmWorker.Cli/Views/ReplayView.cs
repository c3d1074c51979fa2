using System.Globalization;
using GrmWorker.Worker.Replay;
using Spectre.Console;

namespace GrmWorker.Cli.Views;

/// <summary>Renders a <see cref="ReplayReport"/>: one line per job (up to <see cref="MaxJobLines"/>), then the counts.</summary>
internal static class ReplayView
{
    public const int MaxJobLines = 50;

    public static void Render(IAnsiConsole console, ReplayReport report)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(report);
        if (report.Jobs.Count > 0)
        {
            var jobs = new Table().Border(TableBorder.Rounded).Title($"replay {Markup.Escape(report.Strategy)}")
                .AddColumn("requestId").AddColumn("outcome").AddColumn(new TableColumn("samples").RightAligned()).AddColumn("rewards")
                .AddColumn(new TableColumn("best").RightAligned()).AddColumn("rows");
            foreach (var j in report.Jobs.Take(MaxJobLines))
            {
                var replayed = j.Outcome == ReplayJobOutcome.Replayed;
                jobs.AddRow(new[]
                {
                    j.RequestId,
                    replayed ? j.Outcome : $"{j.Outcome}: {j.Reason}",
                    replayed ? $"{j.VotingSamples.Count} voted / {j.SamplesValid} valid / {j.SamplesUsed}" : "-",
                    replayed ? string.Join("  ", j.Rewards.Select(JobTraceView.Number)) : "-",
                    replayed ? $"{(j.StoredBest is { } s ? I(s) : "-")} -> {I(j.Best)}{(j.BestChanged ? " (changed)" : "")}" : "-",
                    replayed ? (j.Written ? "written" : "already stored") + (j.Published ? ", published" : "") : "-",
                }.Select(cell => new Text(cell)));
            }
            console.Write(jobs);
            if (report.Jobs.Count > MaxJobLines)
                console.WriteLine($"... {report.Jobs.Count - MaxJobLines} more jobs (--json lists every one)");
        }

        var summary = new Table().Border(TableBorder.Rounded).AddColumn("replay").AddColumn(new TableColumn("jobs").RightAligned());
        summary.AddRow("strategy", Markup.Escape(report.Strategy));
        summary.AddRow("selected", I(report.Selected));
        summary.AddRow("replayed", I(report.Replayed));
        summary.AddRow("  rows written", I(report.Written));
        summary.AddRow("  rows already stored", I(report.AlreadyStored));
        summary.AddRow("  best answer changed", I(report.BestChanged));
        summary.AddRow("  published", I(report.Published));
        summary.AddRow("skipped (not scored, no valid sample)", I(report.Skipped));
        summary.AddRow("failed", I(report.Failed));
        if (report.NotFound.Count > 0) summary.AddRow("requestIds not found", I(report.NotFound.Count));
        console.Write(summary);
    }

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
}
