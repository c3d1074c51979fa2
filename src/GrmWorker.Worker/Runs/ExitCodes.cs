namespace GrmWorker.Worker.Runs;

/// <summary>
/// The process exit codes every `grm` command uses (docs/cli.md lists them). A script can tell "fix your input"
/// (2) from "nothing to act on" (3) from "try again later" (4) from "something broke" (1).
/// </summary>
internal static class ExitCodes
{
    /// <summary>Done; for `grm score`, the job was scored.</summary>
    public const int Ok = 0;

    /// <summary>A runtime failure: a model, file or database error, or a job that ended <c>failed</c>.</summary>
    public const int Failure = 1;

    /// <summary>Bad usage or bad input: an option, field or input line at fault (named in the message); a <c>rejected</c> job.</summary>
    public const int BadInput = 2;

    /// <summary>What was asked for does not exist: an unknown requestId, no stored job matching the filters.</summary>
    public const int NotFound = 3;

    /// <summary>A service the command needs (Postgres, RabbitMQ) cannot be reached; the message names the setting.</summary>
    public const int Unavailable = 4;

    /// <summary>Interrupted (Ctrl+C / SIGTERM) before it finished; what was committed stays committed.</summary>
    public const int Cancelled = 130;
}
