using GrmWorker.Contracts;
using MassTransit;

namespace GrmWorker.Worker.Messaging;

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
            throw new UnprocessableRequestException(ErrorCodes.NotAScoreRequest, "the body is not a JSON object with a score request");
        if (RequestRules.RequestIdProblem(message.Message.RequestId) is { } problem)
            throw new UnprocessableRequestException(ErrorCodes.NoRequestId, problem);
        return next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("requestIdRequired");
}

/// <summary>A message the worker cannot answer with a result; it ends in the error queue with <see cref="Code"/>.</summary>
public sealed class UnprocessableRequestException : Exception
{
    public UnprocessableRequestException() : this(ErrorCodes.Unprocessable, "the message cannot be processed") { }

    public UnprocessableRequestException(string message) : this(ErrorCodes.Unprocessable, message) { }

    public UnprocessableRequestException(string message, Exception innerException) : base(message, innerException) => Code = ErrorCodes.Unprocessable;

    public UnprocessableRequestException(string code, string message) : base(message) => Code = code;

    public string Code { get; }
}
