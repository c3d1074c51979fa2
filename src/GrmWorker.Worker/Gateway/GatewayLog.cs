using Microsoft.Extensions.Logging;

namespace GrmWorker.Worker.Gateway;

internal static partial class GatewayLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Could not publish the waiting requests again after a reconnect; they time out unless the broker comes back")]
    public static partial void RepublishFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Gateway listening on {Url}; requests to {Queue}, results on route {Route}")]
    public static partial void Listening(ILogger logger, string url, string queue, string route);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "{Path}: no result for {RequestId} within {Timeout}")]
    public static partial void TimedOut(ILogger logger, string path, string requestId, TimeSpan timeout);
}
