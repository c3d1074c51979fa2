using System.Diagnostics.CodeAnalysis;
using GrmWorker.Contracts;

namespace GrmWorker.Worker.Pipeline;

/// <summary>
/// What <see cref="ScoringPipeline.Prepare"/> makes of a request: exactly one of a runnable job (<see cref="Run"/>) or
/// the reason the worker rejects it (<see cref="Failure"/>). <see cref="IsRunnable"/> tells which, and the compiler
/// knows the other one is then set.
/// </summary>
internal sealed class PreparedJob
{
    private PreparedJob(JobRun? run, ValidationFailure? failure)
    {
        Run = run;
        Failure = failure;
    }

    public JobRun? Run { get; }

    public ValidationFailure? Failure { get; }

    [MemberNotNullWhen(true, nameof(Run))]
    [MemberNotNullWhen(false, nameof(Failure))]
    public bool IsRunnable => Run is not null;

    public static PreparedJob Runnable(JobRun run) => new(run ?? throw new ArgumentNullException(nameof(run)), null);

    public static PreparedJob Rejected(ValidationFailure failure) => new(null, failure ?? throw new ArgumentNullException(nameof(failure)));
}
