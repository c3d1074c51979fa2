using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace GrmWorker.Contracts;

/// <summary>
/// The rules about a request itself that are not limits (those are <see cref="ScoreRequestValidator"/> over
/// <see cref="ValidationLimits"/>): when a requestId can be answered, which route is a usable routing key, and what
/// Postgres can store. Postgres text holds no U+0000 (jsonb neither, as <c>\u0000</c>), jsonb no lone UTF-16
/// surrogate and no number beyond double range. The policy for U+0000, in one place:
/// <list type="bullet">
/// <item>in a requestId: the request cannot be answered (error queue, <see cref="RequestIdProblem"/>);</item>
/// <item>in a field of the request or its metadata: the request is rejected (<see cref="UnstorableField"/>);</item>
/// <item>in text the worker made itself (model output, parse reasons, principles, critiques): replaced by U+FFFD
/// (<see cref="Storable"/>);</item>
/// <item>in a raw body that is stored beside its job: the body is left out of the row (<see cref="StorableJson"/>);</item>
/// <item>anything that still reaches Storage with one is a bug there, and the write throws.</item>
/// </list>
/// </summary>
public static class RequestRules
{
    /// <summary>The route of a request that gives none, and the routing key of one whose route is unusable.</summary>
    public const string DefaultRoute = "default";

    /// <summary>The longest routing key RabbitMQ takes, in UTF-8 bytes.</summary>
    public const int MaxRoutingKeyBytes = 255;

    /// <summary>The character Postgres text cannot hold, as messages name it.</summary>
    public const string NulName = "a NUL character (U+0000)";

    /// <summary>The longest requestId the worker answers (stored as the job's unique key); the validation limit may be lower.</summary>
    public const int MaxRequestIdLength = 200;

    /// <summary>Whether <paramref name="text"/> holds U+0000 (null holds none).</summary>
    public static bool HasNul(string? text) => text is not null && text.Contains('\0', StringComparison.Ordinal);

    /// <summary>
    /// <paramref name="text"/> as Postgres text can hold it: each U+0000 replaced by U+FFFD. For text the worker made
    /// itself (a model can generate U+0000 with byte-level tokens); a request's own fields are rejected instead.
    /// </summary>
    public static string Storable(string text) => text.Replace('\0', '\uFFFD');

    /// <summary>
    /// Why a request cannot be answered under its requestId, or null. Longer than <see cref="MaxRequestIdLength"/> is
    /// refused before any SQL: it could not be a key of the stored job.
    /// </summary>
    public static string? RequestIdProblem(string? requestId) =>
        string.IsNullOrWhiteSpace(requestId) ? "the body has no requestId (a non-empty string is required)"
        : HasNul(requestId) ? $"requestId contains {NulName}"
        : requestId.Length > MaxRequestIdLength ? $"requestId is longer than {MaxRequestIdLength} characters"
        : null;

    /// <summary>Whether <paramref name="route"/> holds a wildcard, which would be ambiguous on the topic exchange.</summary>
    public static bool HasWildcard(string route)
    {
        ArgumentNullException.ThrowIfNull(route);
        return route.Contains('*', StringComparison.Ordinal) || route.Contains('#', StringComparison.Ordinal);
    }

    /// <summary>The route a result can be published and stored under: the request's, unless it is unusable as a routing key.</summary>
    public static string RoutingKey(string? route) =>
        string.IsNullOrWhiteSpace(route) || HasNul(route) || Encoding.UTF8.GetByteCount(route) > MaxRoutingKeyBytes ? DefaultRoute : route;

    /// <summary>
    /// The first field of a (validated) request Postgres cannot store, as a rejection: U+0000 in the route or a
    /// text, a lone surrogate in a text, metadata jsonb refuses. Null when the request can be stored.
    /// </summary>
    public static ValidationFailure? UnstorableField(ScoreRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (NulField(request) is { } field)
            return new ValidationFailure(ErrorCodes.InvalidRequest, $"{field} contains {NulName}");
        if (LoneSurrogateField(request) is { } broken)
            return new ValidationFailure(ErrorCodes.InvalidRequest, $"{broken} has a lone UTF-16 surrogate");
        if (request.Metadata is { } metadata && Unstorable(metadata, "metadata") is { } bad)
            return new ValidationFailure(ErrorCodes.InvalidRequest,
                $"{bad.Path} {bad.Problem}; metadata is stored as JSON and echoed back, so it must be storable");
        return null;
    }

    /// <summary>
    /// A raw body as it can be stored beside its job: itself, or null when jsonb cannot hold it (see
    /// <see cref="Unstorable"/>) or it is not JSON; left out of the row instead of failing the write, and with it
    /// every other job of the batch.
    /// </summary>
    public static string? StorableJson(string? body)
    {
        if (body is null) return null;
        try
        {
            using var document = JsonDocument.Parse(body);
            return Unstorable(document.RootElement) is null ? body : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The first part of <paramref name="json"/> Postgres' jsonb refuses, as (path, what), e.g. ("tag", "has a lone
    /// UTF-16 surrogate"): a NUL character, a lone surrogate (in a value or a key), a number beyond double range.
    /// Null when all of it can be stored.
    /// </summary>
    public static (string Path, string Problem)? Unstorable(JsonElement json, string path = "")
    {
        switch (json.ValueKind)
        {
            case JsonValueKind.String:
                if (!TryGetText(json, out var text, out var notText)) return (path, notText);
                return HasNul(text) ? (path, $"has {NulName}") : null;
            case JsonValueKind.Number:
                return json.TryGetDouble(out var d) && double.IsFinite(d) ? null : (path, "is a number out of range");
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in json.EnumerateArray())
                {
                    if (Unstorable(item, $"{path}[{i++}]") is { } found) return found;
                }
                return null;
            case JsonValueKind.Object:
                foreach (var property in json.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return (path, $"has a key that {NotText(JsonMarshal.GetRawUtf8PropertyName(property))}");
                    }
                    if (HasNul(name)) return (path, $"has a key with {NulName}");
                    if (Unstorable(property.Value, path.Length == 0 ? name : $"{path}.{name}") is { } found) return found;
                }
                return null;
            default:
                return null;
        }
    }

    /// <summary>
    /// The text of a JSON string, or why there is none: <paramref name="problem"/> says "holds bytes that are not UTF-8"
    /// (a body sent in another encoding; the reader only checks UTF-8 when the text is taken) or "has a lone UTF-16
    /// surrogate" (an escape such as <c>\ud800</c> with no partner). A parsed document (JsonDocument) holds both without
    /// complaint; <see cref="JsonElement.GetString"/> throws on them.
    /// </summary>
    public static bool TryGetText(JsonElement json, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? text,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? problem)
    {
        try
        {
            text = json.GetString()!;
            problem = null;
            return true;
        }
        catch (InvalidOperationException)
        {
            text = null;
            problem = NotText(JsonMarshal.GetRawUtf8Value(json));
            return false;
        }
    }

    private static string NotText(ReadOnlySpan<byte> raw) => Utf8.IsValid(raw) ? "has a lone UTF-16 surrogate" : "holds bytes that are not UTF-8";

    private static string? NulField(ScoreRequest r)
    {
        if (HasNul(r.Route)) return "route";
        if (HasNul(r.Query)) return "query";
        for (var i = 0; i < r.Responses.Count; i++)
            if (HasNul(r.Responses[i])) return $"responses[{i}]";
        if (HasNul(r.Reference)) return "reference";
        return null;
    }

    private static string? LoneSurrogateField(ScoreRequest r)
    {
        if (HasLoneSurrogate(r.Query)) return "query";
        for (var i = 0; i < r.Responses.Count; i++)
            if (HasLoneSurrogate(r.Responses[i])) return $"responses[{i}]";
        if (r.Reference is { } reference && HasLoneSurrogate(reference)) return "reference";
        return null;
    }

    private static bool HasLoneSurrogate(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(text[i])) return true;
        }
        return false;
    }
}
