using System.Text;
using System.Text.Json;
using GrmWorker.Contracts;
using GrmWorker.Storage;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrmWorker.Worker.Messaging;

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
    IOptions<ValidationLimits> limits,
    TimeProvider time,
    ILogger<MalformedRequestRejecter> logger)
{
    /// <summary>True when the body was answered with a rejected result; false when it has no usable requestId.</summary>
    public async Task<bool> TryRejectAsync(byte[] body, Exception error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(error);
        var json = new ReadOnlyMemory<byte>(body);
        string? problem = null;
        if (json.Span.StartsWith(Utf8Bom))
        {
            json = json[Utf8Bom.Length..];
            problem = "the body starts with a UTF-8 byte order mark (EF BB BF); send JSON without one";
        }
        ScoreRequest? request;
        try
        {
            request = FromDocument(json, ref problem);
        }
        catch (JsonException ex)
        {
            // Not a JSON document we can hold (nested too deep, bytes that are not UTF-8, cut off): the top-level
            // requestId and route, read as a stream, still say whom to answer.
            request = FromTopLevelFields(json.Span);
            problem ??= $"the body is not valid JSON: {ErrorQueue.Shorten(FirstSentence(ex.Message))}";
        }
        catch (InvalidOperationException)
        {
            // a requestId / route that is not valid UTF-16 (a lone surrogate): nobody to answer
            return false;
        }
        if (request is null) return false;

        var message = problem ?? Describe(error);
        var failure = new ValidationFailure(ErrorCodes.InvalidRequest, message);
        WorkerLog.Rejected(logger, request.RequestId, failure.Code, failure.Message);
        var text = Encoding.UTF8.GetString(body);
        var record = JobRowMapping.ToRecord(JobOutcomes.Rejected(new IncomingRequest(request, text, time.GetUtcNow()), failure, limits.Value, engine.ModelId, time.GetUtcNow()));
        var written = await resilience.Storage.ExecuteAsync(static (state, t) => new ValueTask<JobWriteResult>(state.writer.WriteAsync(state.record, t)),
            (writer, record), cancellationToken);
        await resilience.Broker.ExecuteAsync(static (state, t) => new ValueTask(state.publisher.PublishAsync(
                state.record.RequestId, RequestRules.RoutingKey(state.record.Route), state.written.ResultJson, t)),
            (publisher, record, written), cancellationToken);
        if (written.Created) metrics.JobFinished(ScoreStatus.Rejected, 0);
        return true;
    }

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>The request to answer, or null when there is nobody to answer; <paramref name="problem"/> gets what is wrong when it is not a type error.</summary>
    private static ScoreRequest? FromDocument(ReadOnlyMemory<byte> json, ref string? problem)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var duplicate = FirstDuplicateKey(root, "");
        // which requestId or route would be meant is unclear when one is given twice: the error queue then
        if (root.ValueKind != JsonValueKind.Object || IsField(duplicate, "requestId") || IsField(duplicate, "route")
            || !TryGetField(root, "requestId", out var id) || id.ValueKind != JsonValueKind.String
            || RequestRules.RequestIdProblem(id.GetString()!) is not null)
            return null;
        var unstorable = RequestRules.Unstorable(root);
        problem ??= duplicate is not null ? $"{duplicate} appears more than once in the body; each key may be given once"
            : unstorable is { } bad ? $"{(bad.Path.Length == 0 ? "the body" : bad.Path)} {bad.Problem}"
            : null;
        return new ScoreRequest
        {
            RequestId = id.GetString()!,
            Route = TryGetField(root, "route", out var route) && route.ValueKind == JsonValueKind.String ? route.GetString()! : RequestRules.DefaultRoute,
            Metadata = TryGetField(root, "metadata", out var metadata) && RequestRules.Unstorable(metadata) is null
                && duplicate?.StartsWith("metadata", StringComparison.OrdinalIgnoreCase) != true ? metadata.Clone() : null,
        };
    }

    /// <summary>
    /// The top-level requestId and route of a body that is not a whole JSON document, read up to its first error
    /// without building a tree (so no depth limit applies); null when no single usable requestId comes before it.
    /// </summary>
    private static ScoreRequest? FromTopLevelFields(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = int.MaxValue });
        string? requestId = null, route = null;
        var ids = 0;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isId = reader.ValueTextEquals("requestId"u8);
                var isRoute = reader.ValueTextEquals("route"u8);
                if (!reader.Read()) break;
                if (isId && ++ids == 1 && reader.TokenType == JsonTokenType.String) requestId = reader.GetString();
                else if (isRoute && reader.TokenType == JsonTokenType.String) route = reader.GetString();
                else reader.Skip();
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // the first error ends the read; what came before it stands
        }
        if (requestId is null || ids > 1 || RequestRules.RequestIdProblem(requestId) is not null) return null;
        return new ScoreRequest { RequestId = requestId, Route = route ?? RequestRules.DefaultRoute };
    }

    /// <summary>
    /// The request's own fields, as the deserializer matches them: regardless of case (<c>RequestId</c> is
    /// <c>requestId</c>), so <c>{"requestId": "a", "RequestId": "b"}</c> gives requestId twice.
    /// </summary>
    private static readonly HashSet<string> RequestFields = new(
        WireJson.Options.GetTypeInfo(typeof(ScoreRequest)).Properties.Select(p => p.Name), StringComparer.OrdinalIgnoreCase);

    private static bool IsField(string? key, string field) => string.Equals(key, field, StringComparison.OrdinalIgnoreCase);

    /// <summary>The first top-level property that is <paramref name="field"/> for the deserializer (any case).</summary>
    private static bool TryGetField(JsonElement root, string field, out JsonElement value)
    {
        if (root.TryGetProperty(field, out value)) return true;
        foreach (var property in root.EnumerateObject())
        {
            if (IsField(SafeName(property), field))
            {
                value = property.Value;
                return true;
            }
        }
        return false;
    }

    private static string? SafeName(JsonProperty property)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// The path of the first key an object of <paramref name="element"/> gives twice ("kMax", "metadata.tag"), or null.
    /// At the top level a request field counts twice in any case mix (see <see cref="RequestFields"/>).
    /// </summary>
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
            if (SafeName(property) is not { } name) continue; // a key that is no text: Unstorable names it
            var here = path.Length == 0 ? name : $"{path}.{name}";
            var key = path.Length == 0 && RequestFields.TryGetValue(name, out var field) ? field : name;
            if (!seen.Add(key)) return here;
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
