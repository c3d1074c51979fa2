using System.Globalization;
using GrmWorker.Worker.Relabel;
using GrmWorker.Worker.Runs;
using Spectre.Console;

namespace GrmWorker.Cli.Views;

/// <summary>Prints a <see cref="RelabelSummary"/>: a table, or with --json one object with its fields.</summary>
internal static class RelabelSummaryView
{
    public static void Print(RelabelSummary summary, RunEnvironment environment, bool json)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(environment);
        if (json)
        {
            CliJson.Write(environment.Out, summary);
            return;
        }
        var s = summary;
        var table = new Table().Title($"grm relabel {Markup.Escape(s.Input)} ({s.Mode}){(s.Interrupted ? ", interrupted" : "")}").HideHeaders();
        table.AddColumn("what").AddColumn(new TableColumn("value").RightAligned()).AddColumn("where");
        Row(table, "lines", s.Lines, "");
        Row(table, "in OUT", s.Written, s.Output);
        Row(table, "  scored", s.Scored, "");
        Row(table, "  failed", s.Failed, "status failed, kept in OUT");
        Row(table, "  skipped", s.Skipped, "done by an earlier run");
        Row(table, "rejected", s.Rejected, s.Rejected > 0 ? s.Rejects : "");
        Row(table, "  timed out", s.TimedOut, s.TimedOut > 0 ? "sent again by the next run" : "");
        Row(table, "sent", s.Sent, "");
        Row(table, "samples used", s.SamplesUsed, "");
        Row(table, "samples saved", s.SamplesSaved, "by early stopping");
        table.AddRow("seconds", s.Seconds.ToString("F1", CultureInfo.InvariantCulture), "");
        table.AddRow("jobs/s", s.JobsPerSecond.ToString("F2", CultureInfo.InvariantCulture), "");
        CliConsole.Create(environment).Write(table);
    }

    private static void Row(Table table, string what, long value, string where) =>
        table.AddRow(what, value.ToString(CultureInfo.InvariantCulture), Markup.Escape(where));
}
