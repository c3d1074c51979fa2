using GrmWorker.Contracts;
using GrmWorker.Scoring.Aggregation;

namespace GrmWorker.Worker.Pipeline;

/// <summary>
/// What the worker made of one request (<see cref="ScoringPipeline"/>, or <see cref="JobOutcomes"/> for one it never
/// runs): the result it publishes and, for a job it ran, the samples drawn. Nothing here is Storage's:
/// <see cref="JobRowMapping"/> turns it into the rows where it is written.
/// </summary>
public sealed record FinishedJob
{
    public required IncomingRequest Incoming { get; init; }

    /// <summary>The result as published (status, error, rewards, counts, tokens, the request's metadata).</summary>
    public required ScoreResult Result { get; init; }

    /// <summary>When the job finished; never before it was received.</summary>
    public required DateTimeOffset CompletedAt { get; init; }

    /// <summary>
    /// Whether the model ran for it (it ended scored, or failed while running); false for a request rejected before
    /// any run, or given up because its earlier runs lost their workers.
    /// </summary>
    public bool WasRun { get; init; }

    /// <summary>The samples drawn, in draw order; none for a job that was not run.</summary>
    public IReadOnlyList<DrawnSample> Samples { get; init; } = [];

    public string RequestId => Result.RequestId;

    public string Status => Result.Status;

    /// <summary>Milliseconds from receipt to completion of a job that ran, unrounded; 0 for one that never ran.</summary>
    public double RunLatencyMs => WasRun ? Incoming.MillisecondsUntil(CompletedAt) : 0;
}

/// <summary>
/// One sample a job drew: what its text parsed to (<see cref="Sample"/>, its meta score included once set), the text as
/// it is stored (<see cref="RequestRules.Storable"/>), its prompt and generated token counts and how long its round took.
/// </summary>
public sealed record DrawnSample(GrmSample Sample, string RawText, int PromptTokens, int GeneratedTokens, TimeSpan RoundTime);
