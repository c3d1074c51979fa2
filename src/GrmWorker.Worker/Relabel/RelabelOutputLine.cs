using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using GrmWorker.Contracts;

namespace GrmWorker.Worker.Relabel;

/// <summary>
/// One line of OUT: the input object as it was (unknown fields and field order kept) with the result added:
/// <c>requestId</c>, <c>status</c>, <c>rewards</c>, <c>best</c>, <c>samplesUsed</c>, <c>samplesValid</c>,
/// <c>stoppedEarly</c>, and <c>error</c> unless scored. Fields of those names already in the input are replaced.
/// Non-ASCII text is written as is (no \uXXXX), so the file stays readable.
/// </summary>
internal static class RelabelOutputLine
{
    private static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Build(JsonObject source, string requestId, ScoreResult result)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(result);
        source["requestId"] = requestId;
        source["status"] = result.Status;
        source["rewards"] = new JsonArray([.. result.Rewards.Select(r => (JsonNode?)JsonValue.Create(r))]);
        source["best"] = result.Best;
        source["samplesUsed"] = result.SamplesUsed;
        source["samplesValid"] = result.SamplesValid;
        source["stoppedEarly"] = result.StoppedEarly;
        if (result.Error is { } error)
            source["error"] = new JsonObject { ["code"] = error.Code, ["message"] = error.Message };
        else
            source.Remove("error");
        return source.ToJsonString(Options);
    }
}
