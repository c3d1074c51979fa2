using GrmWorker.Contracts;

namespace GrmWorker.Worker.Pipeline;

/// <summary>A request as taken off the queue: the parsed message, its raw body (stored as jsonb) and when it arrived.</summary>
public sealed record IncomingRequest(ScoreRequest Request, string? BodyJson, DateTimeOffset ReceivedAt)
{
    /// <summary>Milliseconds from receipt to <paramref name="completed"/>, unrounded; never negative (clocks may step).</summary>
    public double MillisecondsUntil(DateTimeOffset completed) => Math.Max(0, (completed - ReceivedAt).TotalMilliseconds);
}
