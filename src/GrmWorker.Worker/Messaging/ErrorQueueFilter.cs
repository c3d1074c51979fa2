using GrmWorker.Contracts;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace GrmWorker.Worker.Messaging;

/// <summary>
/// The end of the endpoint's error pipe, in place of MassTransit's fault + error-transport filters (whose headers carry
/// stack traces, host name and pid): the message goes to the error queue through <see cref="ErrorQueue"/>, once.
/// </summary>
public sealed class ErrorQueueFilter(IServiceProvider services) : IFilter<ExceptionReceiveContext>
{
    public async Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        var (code, reason) = ErrorQueue.Describe(context.Exception);
        await services.GetRequiredService<ErrorQueue>().SendAsync(context.Body.GetBytes(), context.ContentType?.MediaType,
            context.GetMessageId()?.ToString(), code, reason, context.Exception, context.CancellationToken);
        // Marks the message handled as a fault: without it the dead-letter pipe would take it a second time.
        if (!context.IsFaulted) await context.NotifyFaulted(context.Exception);
        await next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("errorQueue");
}

/// <summary>
/// The endpoint's dead-letter pipe: a message no consumer took (MassTransit would park it in <c>_skipped</c>, a queue
/// nothing reads) goes to the error queue with a reason instead.
/// </summary>
public sealed class NotConsumedFilter(IServiceProvider services) : IFilter<ReceiveContext>
{
    public async Task Send(ReceiveContext context, IPipe<ReceiveContext> next)
    {
        var contentType = context.ContentType?.MediaType;
        await services.GetRequiredService<ErrorQueue>().SendAsync(context.Body.GetBytes(), contentType, context.GetMessageId()?.ToString(),
            ErrorCodes.NotConsumed, $"no consumer takes this message (content type {contentType ?? "none"}); send a score request as plain JSON",
            null, context.CancellationToken);
        await next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("notConsumed");
}
