namespace GrmWorker.Worker.Runs;

/// <summary>A command stops with this exit code and message (printed once, by the CLI's <c>CliRunner</c>).</summary>
internal sealed class RunException : Exception
{
    public RunException(int exitCode, string message)
        : base(message)
    {
        ExitCode = exitCode;
    }

    public RunException()
    {
    }

    public RunException(string message)
        : base(message)
    {
    }

    public RunException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public int ExitCode { get; } = ExitCodes.Failure;
}
