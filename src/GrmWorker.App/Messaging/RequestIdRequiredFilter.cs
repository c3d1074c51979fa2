using GrmWorker.Contracts;
using MassTransit;

namespace GrmWorker.App.Messaging;

/// <summary>
/// Runs on the endpoint's consume pipe for each message, before batching (a consume filter on the consumer would
/// only see the whole <see cref="Batch{T}"/>). A request without a usable requestId cannot get a result (nothing to
/// correlate it with), so it fails on its own: the endpoint's error pipe (<see cref="ErrorQueueFilter"/>) moves it to
/// the error queue (<c>grm.score_error</c>) with the reason in its <c>MT-Fault-Message</c> header. Bodies that do not deserialize fail before this filter; see
/// <see cref="MalformedRequestErrorFilter"/>.
/// </summary>
public sealed class RequestIdRequiredFilter : IFilter<ConsumeContext>
{
    public Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
    {
        if (!context.TryGetMessage<ScoreRequest>(out var message))
            throw new UnprocessableRequestException(ErrorQueue.NotAScoreRequestCode, "the body is not a JSON object with a score request");
        if (Problem(message.Message) is { } problem)
            throw new UnprocessableRequestException(ErrorQueue.NoRequestIdCode, problem);
        return next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("requestIdRequired");

    /// <summary>
    /// Why <paramref name="request"/> cannot be answered under its requestId, or null. Longer than
    /// <see cref="MaxRequestIdLength"/> is refused here, before any SQL: it could not be a key of the stored job.
    /// </summary>
    internal static string? Problem(ScoreRequest request) =>
        string.IsNullOrWhiteSpace(request.RequestId) ? "the body has no requestId (a non-empty string is required)"
        : request.RequestId.Contains('\0') ? "requestId contains a NUL character (U+0000)"
        : request.RequestId.Length > MaxRequestIdLength ? $"requestId is longer than {MaxRequestIdLength} characters"
        : null;

    /// <summary>The longest requestId the worker answers (the validation limit's default; stored as the job's unique key).</summary>
    public static int MaxRequestIdLength { get; } = new ValidationLimits().MaxRequestIdLength;
}

/// <summary>A message the worker cannot answer with a result; it ends in the error queue with <see cref="Code"/>.</summary>
public sealed class UnprocessableRequestException : Exception
{
    public UnprocessableRequestException() : this(ErrorQueue.UnprocessableCode, "the message cannot be processed") { }

    public UnprocessableRequestException(string message) : this(ErrorQueue.UnprocessableCode, message) { }

    public UnprocessableRequestException(string message, Exception innerException) : base(message, innerException) => Code = ErrorQueue.UnprocessableCode;

    public UnprocessableRequestException(string code, string message) : base(message) => Code = code;

    public string Code { get; }
}
