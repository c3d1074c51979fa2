namespace GrmWorker.Contracts;

/// <summary>
/// Checks a <see cref="ScoreRequest"/> against <see cref="ValidationLimits"/>. Returns the first
/// problem found (code <c>invalid_request</c> or <c>too_large</c>, message naming the field) or null.
/// </summary>
public static class ScoreRequestValidator
{
    public static ValidationFailure? Validate(ScoreRequest request, ValidationLimits limits)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(limits);
        return CheckIdentity(request, limits)
            ?? CheckTexts(request, limits)
            ?? CheckSampling(request, limits)
            ?? CheckChoices(request);
    }

    private static ValidationFailure? CheckIdentity(ScoreRequest r, ValidationLimits l)
    {
        if (string.IsNullOrWhiteSpace(r.RequestId))
            return Invalid("requestId is required");
        if (r.RequestId.Length > l.MaxRequestIdLength)
            return TooLarge($"requestId is longer than {l.MaxRequestIdLength} characters");
        if (string.IsNullOrWhiteSpace(r.Route) || r.Route.Length > l.MaxRouteLength)
            return Invalid($"route must be 1..{l.MaxRouteLength} characters");
        // A routing key is an AMQP short string: a route of 200 characters can still be too long (e.g. 100 x U+20AC is
        // 300 bytes). Rejected here, the result goes out under "default" (RequestRules.RoutingKey), as for a long route.
        if (System.Text.Encoding.UTF8.GetByteCount(r.Route) > RequestRules.MaxRoutingKeyBytes)
            return Invalid($"route must be at most {RequestRules.MaxRoutingKeyBytes} bytes in UTF-8 (it is a RabbitMQ routing key)");
        if (RequestRules.HasWildcard(r.Route))
            return Invalid("route must not contain '*' or '#'");
        return null;
    }

    private static ValidationFailure? CheckTexts(ScoreRequest r, ValidationLimits l)
    {
        if (string.IsNullOrWhiteSpace(r.Query))
            return Invalid("query is required");
        if (r.Query.Length > l.MaxQueryChars)
            return TooLarge($"query is longer than {l.MaxQueryChars} characters");
        if (r.Responses is null || r.Responses.Count == 0)
            return Invalid("responses must hold at least one response");
        if (r.Responses.Count > l.MaxResponses)
            return TooLarge($"responses holds {r.Responses.Count} items, more than {l.MaxResponses}");
        for (var i = 0; i < r.Responses.Count; i++)
        {
            if (r.Responses[i] is null)
                return Invalid($"responses[{i}] is null");
            if (r.Responses[i].Length > l.MaxResponseChars)
                return TooLarge($"responses[{i}] is longer than {l.MaxResponseChars} characters");
        }
        if (r.Reference is { Length: var n } && n > l.MaxReferenceChars)
            return TooLarge($"reference is longer than {l.MaxReferenceChars} characters");
        if (!MetadataFits(r, l))
            return TooLarge($"metadata is {MetadataBytes(r)} bytes of JSON, more than {l.MaxMetadataBytes}; it is not echoed back");
        return null;
    }

    /// <summary>Whether the request's metadata is within <see cref="ValidationLimits.MaxMetadataBytes"/>; only then is it echoed.</summary>
    public static bool MetadataFits(ScoreRequest request, ValidationLimits limits)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(limits);
        return MetadataBytes(request) <= limits.MaxMetadataBytes;
    }

    private static long MetadataBytes(ScoreRequest request) =>
        request.Metadata is { } metadata ? System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(metadata).Length : 0;

    private static ValidationFailure? CheckSampling(ScoreRequest r, ValidationLimits l)
    {
        if (r.KMax is { } kMax && (kMax < 1 || kMax > l.MaxKMax))
            return Invalid($"kMax must be 1..{l.MaxKMax}");
        if (r.KMin is { } kMin && (kMin < 1 || kMin > (r.KMax ?? l.MaxKMax)))
            return Invalid("kMin must be 1..kMax");
        if (r.Temperature is { } t && (double.IsNaN(t) || t < 0 || t > l.MaxTemperature))
            return Invalid($"temperature must be 0..{l.MaxTemperature}");
        if (r.MaxNewTokens is { } m && (m < 1 || m > l.MaxNewTokensLimit))
            return Invalid($"maxNewTokens must be 1..{l.MaxNewTokensLimit}");
        return null;
    }

    private static ValidationFailure? CheckChoices(ScoreRequest r)
    {
        if (r.Stopping is not null && !StoppingKind.IsKnown(r.Stopping))
            return Invalid($"stopping must be '{StoppingKind.Adaptive}' or '{StoppingKind.None}'");
        if (r.Aggregation is not null && !AggregationKind.IsKnown(r.Aggregation))
            return Invalid($"aggregation must be '{AggregationKind.Voting}' or '{AggregationKind.MetaRm}'");
        return null;
    }

    private static ValidationFailure Invalid(string message) => new(ErrorCodes.InvalidRequest, message);

    private static ValidationFailure TooLarge(string message) => new(ErrorCodes.TooLarge, message);
}
