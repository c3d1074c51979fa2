using System.Globalization;
using GrmWorker.Worker.Relabel;
using GrmWorker.Worker.Runs;
using Spectre.Console;

namespace GrmWorker.Cli.Relabel;

/// <summary>
/// The end of a run: printed as a table, or with --json as one object with these fields. <c>lines</c> counts
/// non-blank input lines; <c>written</c> the lines now in OUT (<c>scored</c> + <c>failed</c> of this run +
/// <c>skipped</c>, the lines done by earlier runs); <c>rejected</c> the lines in the rejects file, of which
/// <c>timedOut</c> had no result in time; <c>jobsPerSecond</c> counts jobs of this run that came back.
/// </summary>
internal sealed record RelabelSummary(
    string Input,
    string Output,
    string Rejects,
    string Mode,
    int Lines,
    int Written,
    int Scored,
    int Failed,
    int Rejected,
    int TimedOut,
    int Skipped,
    int Sent,
    long SamplesUsed,
    long SamplesSaved,
    double Seconds,
    double JobsPerSecond,
    bool Interrupted,
    int ExitCode)
{
    public static RelabelSummary From(RelabelCounters c, string input, string output, string rejects, string mode, int written, bool interrupted, int exitCode) =>
        new(input, output, rejects, mode, c.Lines, written, c.Scored, c.Failed, c.Rejected, c.TimedOut, c.Skipped, c.Sent,
            c.SamplesUsed, c.SamplesSaved, Math.Round(c.Elapsed.TotalSeconds, 3), Math.Round(c.JobsPerSecond, 2), interrupted, exitCode);

    public void Print(CliEnvironment environment, bool json)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (json)
        {
            CliJson.Write(environment.Out, this);
            return;
        }
        var table = new Table().Title($"grm relabel {Markup.Escape(Input)} ({Mode}){(Interrupted ? ", interrupted" : "")}").HideHeaders();
        table.AddColumn("what").AddColumn(new TableColumn("value").RightAligned()).AddColumn("where");
        Row(table, "lines", Lines, "");
        Row(table, "in OUT", Written, Output);
        Row(table, "  scored", Scored, "");
        Row(table, "  failed", Failed, "status failed, kept in OUT");
        Row(table, "  skipped", Skipped, "done by an earlier run");
        Row(table, "rejected", Rejected, Rejected > 0 ? Rejects : "");
        Row(table, "  timed out", TimedOut, TimedOut > 0 ? "sent again by the next run" : "");
        Row(table, "sent", Sent, "");
        Row(table, "samples used", SamplesUsed, "");
        Row(table, "samples saved", SamplesSaved, "by early stopping");
        table.AddRow("seconds", Seconds.ToString("F1", CultureInfo.InvariantCulture), "");
        table.AddRow("jobs/s", JobsPerSecond.ToString("F2", CultureInfo.InvariantCulture), "");
        CliConsole.Create(environment).Write(table);
    }

    private static void Row(Table table, string what, long value, string where) =>
        table.AddRow(what, value.ToString(CultureInfo.InvariantCulture), Markup.Escape(where));
}
