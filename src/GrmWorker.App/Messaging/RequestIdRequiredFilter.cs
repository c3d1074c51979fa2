using GrmWorker.Contracts;
using MassTransit;

namespace GrmWorker.App.Messaging;

/// <summary>
/// Runs on the endpoint's consume pipe for each message, before batching (a consume filter on the consumer would
/// only see the whole <see cref="Batch{T}"/>). A request without a usable requestId cannot get a result (nothing to
/// correlate it with), so it fails on its own: MassTransit moves it to the error queue (<c>grm.score_error</c>) with
/// the reason in its <c>MT-Fault-Message</c> header. Bodies that do not deserialize fail before this filter; see
/// <see cref="MalformedRequestErrorFilter"/>.
/// </summary>
public sealed class RequestIdRequiredFilter : IFilter<ConsumeContext>
{
    public Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
    {
        if (!context.TryGetMessage<ScoreRequest>(out var message))
            throw new UnprocessableRequestException("the body is not a score request");
        if (Problem(message.Message) is { } problem)
            throw new UnprocessableRequestException(problem);
        return next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("requestIdRequired");

    internal static string? Problem(ScoreRequest request) =>
        string.IsNullOrWhiteSpace(request.RequestId) ? "the body has no requestId (a non-empty string is required)"
        : request.RequestId.Contains('\0') ? "requestId contains a NUL character (U+0000)"
        : null;
}

/// <summary>A message the worker cannot answer with a result; it ends in the error queue.</summary>
public sealed class UnprocessableRequestException : Exception
{
    public UnprocessableRequestException() { }

    public UnprocessableRequestException(string message) : base(message) { }

    public UnprocessableRequestException(string message, Exception innerException) : base(message, innerException) { }
}
