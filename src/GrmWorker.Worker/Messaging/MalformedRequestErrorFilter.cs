using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace GrmWorker.Worker.Messaging;

/// <summary>
/// First filter of the endpoint's error pipe: a message that failed because its JSON fields have the wrong types,
/// but that names a requestId, is answered with a stored <c>rejected</c> result (see <see cref="MalformedRequestRejecter"/>)
/// and acked; everything else goes on to the error queue as usual.
/// </summary>
public sealed class MalformedRequestErrorFilter(IServiceProvider services) : IFilter<ExceptionReceiveContext>
{
    public async Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        if (IsShapeError(context.Exception)
            && await services.GetRequiredService<MalformedRequestRejecter>().TryRejectAsync(context.Body.GetBytes(), context.Exception, context.CancellationToken))
        {
            // Answered; marked so the dead-letter pipe does not also park it in _skipped.
            if (!context.IsFaulted) await context.NotifyFaulted(context.Exception);
            return;
        }
        await next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("malformedRequest");

    private static bool IsShapeError(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is JsonException) return true;
        }
        return false;
    }
}
