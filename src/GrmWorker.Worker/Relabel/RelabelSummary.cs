namespace GrmWorker.Worker.Relabel;

/// <summary>
/// The end of a run, returned to the caller (`grm relabel` prints it as a table, or with --json as one object with these
/// fields). <c>lines</c> counts
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
}
