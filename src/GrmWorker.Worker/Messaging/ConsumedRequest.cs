using GrmWorker.Contracts;
using GrmWorker.Worker.Pipeline;
using MassTransit;

namespace GrmWorker.Worker.Messaging;

/// <summary>A request of a consumed batch with the delivery it came in (its raw body, for the error queue).</summary>
public sealed record ConsumedRequest(IncomingRequest Incoming, ConsumeContext<ScoreRequest> Delivery)
{
    public string RequestId => Incoming.Request.RequestId;
}
