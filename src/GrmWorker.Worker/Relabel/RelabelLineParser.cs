using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using GrmWorker.Contracts;

namespace GrmWorker.Worker.Relabel;

/// <summary>
/// Turns input lines into jobs, in file order: one JSON object per line with the fields of a
/// <see cref="ScoreRequest"/> (unknown fields are kept for the output and not sent). A line without
/// <c>requestId</c> gets a derived one and a line without <c>route</c> the run's route (<see cref="RelabelRequestIds"/>);
/// then <see cref="ScoreRequestValidator"/> checks it. Stateful (occurrences of equal lines, ids seen): the same
/// file read by a fresh parser gives the same jobs, which is what lets a run read the file twice.
/// </summary>
internal sealed class RelabelLineParser(string runKey, string runRoute, ValidationLimits limits)
{
    private readonly Dictionary<string, int> _occurrences = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _lineOfId = new(StringComparer.Ordinal);

    public bool TryParse(string text, int lineNumber, [NotNullWhen(true)] out RelabelJob? job, [NotNullWhen(false)] out RelabelReject? reject)
    {
        job = null;
        JsonObject source;
        string canonical;
        try
        {
            if (JsonNode.Parse(text) is not JsonObject parsed)
            {
                reject = new RelabelReject(lineNumber, null, ErrorCodes.InvalidJson, "the line is not a JSON object; each line must be one object with query and responses");
                return false;
            }
            source = parsed;
            canonical = source.ToJsonString();
        }
        catch (JsonException ex)
        {
            // Its own "LineNumber: 0" would confuse: the file's line number is the reject's.
            var at = ex.BytePositionInLine is { } position ? $" at character {position + 1}" : "";
            reject = new RelabelReject(lineNumber, null, ErrorCodes.InvalidJson, $"not valid JSON{at}: {FirstSentence(ex.Message)}");
            return false;
        }
        catch (ArgumentException ex)
        {
            // A property name repeated in one object.
            reject = new RelabelReject(lineNumber, null, ErrorCodes.InvalidJson, $"not valid JSON: {ex.Message}");
            return false;
        }
        var occurrence = NextOccurrence(canonical);

        ScoreRequest request;
        try
        {
            request = source.Deserialize<ScoreRequest>(WireJson.Options)
                ?? throw new JsonException("the line is JSON null");
        }
        catch (JsonException ex)
        {
            reject = new RelabelReject(lineNumber, ExplicitRequestId(source), ErrorCodes.InvalidRequest, Describe(ex));
            return false;
        }

        var requestId = string.IsNullOrWhiteSpace(request.RequestId) ? RelabelRequestIds.Derive(runKey, occurrence, canonical) : request.RequestId;
        request = request with { RequestId = requestId, Route = source["route"] is null ? runRoute : request.Route };
        if (ScoreRequestValidator.Validate(request, limits) is { } failure)
        {
            reject = new RelabelReject(lineNumber, requestId, failure.Code, failure.Message);
            return false;
        }
        if (!_lineOfId.TryAdd(requestId, lineNumber))
        {
            reject = new RelabelReject(lineNumber, requestId, RelabelReject.DuplicateRequestId,
                $"requestId '{requestId}' is already used by line {_lineOfId[requestId]}; each line is one job with its own id");
            return false;
        }
        job = new RelabelJob(lineNumber, source, request, JsonSerializer.Serialize(request, WireJson.Options));
        reject = null;
        return true;
    }

    private int NextOccurrence(string canonical)
    {
        // Keyed by a hash, so the parser does not hold every line of a large file.
        var key = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
        var occurrence = _occurrences.GetValueOrDefault(key);
        _occurrences[key] = occurrence + 1;
        return occurrence;
    }

    private static string? ExplicitRequestId(JsonObject source) =>
        source["requestId"] is JsonValue value && value.TryGetValue<string>(out var id) ? id : null;

    private static string FirstSentence(string message) => message.Split(". ", 2)[0];

    // "$.responses[1]" -> "responses[1] has the wrong JSON type or value (...)"
    private static string Describe(JsonException ex)
    {
        var field = ex.Path is { Length: > 2 } path ? path.TrimStart('$').TrimStart('.') : null;
        var reason = FirstSentence(ex.Message);
        return field is null
            ? $"the line does not match the request fields ({reason})"
            : $"{field} has the wrong JSON type or value ({reason})";
    }
}
