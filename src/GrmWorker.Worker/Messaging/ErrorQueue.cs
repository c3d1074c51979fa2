using System.Globalization;
using System.Text.Json;
using GrmWorker.Contracts;
using GrmWorker.Worker.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace GrmWorker.Worker.Messaging;

/// <summary>
/// The one way a message reaches the error queue (<c>{ScoreQueue}_error</c>, default <c>grm.score_error</c>): its body
/// as received, with a short reason (<c>MT-Fault-Message</c>) and a code (<c>grm-error-code</c>), confirmed by the
/// broker before the message is acked. No stack trace, host name or process id goes into the headers: the exception
/// is logged here, once, with the message id.
/// </summary>
public sealed class ErrorQueue(ResultPublisher publisher, IOptions<RabbitMqOptions> options, WorkerResilience resilience, TimeProvider time, ILogger<ErrorQueue> logger)
{
    /// <summary>Longest reason kept in the header; exception messages can quote a whole body.</summary>
    public const int MaxReasonLength = 300;

    public string Name => options.Value.ScoreQueue + "_error";

    public async Task SendAsync(ReadOnlyMemory<byte> body, string? contentType, string? messageId, string code, string reason, Exception? exception, CancellationToken cancellationToken)
    {
        reason = Shorten(reason);
        WorkerLog.MovedToErrorQueue(logger, exception, messageId, code, reason);
        var properties = new BasicProperties
        {
            DeliveryMode = DeliveryModes.Persistent,
            ContentType = contentType,
            MessageId = messageId,
            Headers = new Dictionary<string, object?>
            {
                ["MT-Reason"] = "fault",
                ["MT-Fault-Message"] = reason,
                ["grm-error-code"] = code,
                ["grm-failed-at"] = time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture),
            },
        };
        await resilience.Broker.ExecuteAsync(static (s, t) => new ValueTask(s.publisher.SendToQueueAsync(s.Name, s.body, s.properties, t)),
            (publisher, Name, body, properties), cancellationToken);
    }

    /// <summary>The code and short reason for a message whose handling threw <paramref name="exception"/>.</summary>
    public static (string Code, string Reason) Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is UnprocessableRequestException unprocessable)
                return (unprocessable.Code, unprocessable.Message);
            if (e is JsonException json)
                return (ErrorCodes.InvalidJson, $"the body is not a JSON score request: {json.Message}");
        }
        return (ErrorCodes.Unprocessable, $"{exception.GetType().Name}: {exception.Message}");
    }

    /// <summary>One line, at most <see cref="MaxReasonLength"/> characters.</summary>
    public static string Shorten(string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        var line = string.Join(' ', reason.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return line.Length <= MaxReasonLength ? line : string.Concat(line.AsSpan(0, MaxReasonLength - 3), "...");
    }
}
