using System.Text;
using System.Text.Json;
using GrmWorker.App.Hosting;
using GrmWorker.App.Pipeline;
using GrmWorker.Contracts;
using GrmWorker.Storage;
using Microsoft.Extensions.Logging;

namespace GrmWorker.App.Messaging;

/// <summary>
/// A body that is a JSON object with a usable requestId, but whose fields have the wrong JSON types (e.g. a string
/// for <c>responses</c>), cannot be deserialized into a request, yet its sender can be answered: it gets a stored
/// <c>rejected</c> result (code <c>invalid_request</c>, the message naming the field) like any other invalid request.
/// So does a body that gives a key twice (the deserializer refuses duplicates): the message names the key.
/// </summary>
public sealed class MalformedRequestRejecter(
    JobWriter writer,
    ResultPublisher publisher,
    WorkerResilience resilience,
    WorkerMetrics metrics,
    IGrmGenerator engine,
    TimeProvider time,
    ILogger<MalformedRequestRejecter> logger)
{
    /// <summary>True when the body was answered with a rejected result; false when it has no usable requestId.</summary>
    public async Task<bool> TryRejectAsync(byte[] body, Exception error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(error);
        ScoreRequest request;
        string? duplicate;
        (string Path, string Problem)? unstorable;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            duplicate = FirstDuplicateKey(root, "");
            // which requestId or route would be meant is unclear when one is given twice: the error queue then
            if (root.ValueKind != JsonValueKind.Object || duplicate is "requestId" or "route"
                || !root.TryGetProperty("requestId", out var id) || id.ValueKind != JsonValueKind.String
                || RequestIdRequiredFilter.Problem(new ScoreRequest { RequestId = id.GetString()! }) is not null)
                return false;
            request = new ScoreRequest
            {
                RequestId = id.GetString()!,
                Route = root.TryGetProperty("route", out var route) && route.ValueKind == JsonValueKind.String ? route.GetString()! : "default",
                Metadata = root.TryGetProperty("metadata", out var metadata) && JobOutcomes.Unstorable(metadata) is null
                    && duplicate?.StartsWith("metadata", StringComparison.Ordinal) != true ? metadata.Clone() : null,
            };
            unstorable = JobOutcomes.Unstorable(root);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // not JSON, or a requestId / route that is not valid UTF-16 (a lone surrogate): nobody to answer
            return false;
        }

        var message = duplicate is not null ? $"{duplicate} appears more than once in the body; each key may be given once"
            : unstorable is { } bad ? $"{(bad.Path.Length == 0 ? "the body" : bad.Path)} {bad.Problem}"
            : Describe(error);
        var failure = new ValidationFailure(ScoreRequestValidator.InvalidCode, message);
        WorkerLog.Rejected(logger, request.RequestId, failure.Code, failure.Message);
        var text = Encoding.UTF8.GetString(body);
        var record = JobOutcomes.Rejected(new IncomingRequest(request, text, time.GetUtcNow()), failure, engine.ModelId, time.GetUtcNow());
        var written = await resilience.Storage.ExecuteAsync(static (state, t) => new ValueTask<JobWriteResult>(state.writer.WriteAsync(state.record, t)),
            (writer, record), cancellationToken);
        await resilience.Broker.ExecuteAsync(static (state, t) => new ValueTask(state.publisher.PublishAsync(
                state.record.RequestId, JobOutcomes.RoutingKey(state.record.Route), state.written.ResultJson, t)),
            (publisher, record, written), cancellationToken);
        if (written.Created) metrics.JobFinished(ScoreStatus.Rejected, 0);
        return true;
    }

    /// <summary>The path of the first key an object of <paramref name="element"/> gives twice ("kMax", "metadata.tag"), or null.</summary>
    private static string? FirstDuplicateKey(JsonElement element, string path)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var item in element.EnumerateArray())
            {
                if (FirstDuplicateKey(item, $"{path}[{i++}]") is { } found) return found;
            }
            return null;
        }
        if (element.ValueKind != JsonValueKind.Object) return null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            var here = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
            if (!seen.Add(property.Name)) return here;
            if (FirstDuplicateKey(property.Value, here) is { } found) return found;
        }
        return null;
    }

    // "$.responses" -> "responses has the wrong JSON type (...)"
    private static string Describe(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is JsonException { Path: { Length: > 2 } path })
                return $"{path.TrimStart('$').TrimStart('.')} has the wrong JSON type or value for a request ({FirstSentence(e.Message)})";
        }
        return $"the body does not match the request schema ({FirstSentence(error.Message)})";
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message;
    }
}
