using System.Text.Json.Nodes;
using GrmWorker.Contracts;

namespace GrmWorker.Worker.Relabel;

/// <summary>An input line that becomes a job: the parsed line (echoed into the output), the request sent and its JSON body.</summary>
internal sealed record RelabelJob(int LineNumber, JsonObject Source, ScoreRequest Request, string Body)
{
    public string RequestId => Request.RequestId;
}

/// <summary>
/// A line that is not in OUT after this run: bad JSON, a field the validator refuses, a result the worker rejected,
/// or no result in time. One line of the rejects file; <see cref="Code"/> is a stable machine code.
/// </summary>
internal sealed record RelabelReject(int LineNumber, string? RequestId, string Code, string Message)
{
    /// <summary>The one code of the rejects file that the wire does not carry (the others are in <see cref="ErrorCodes"/>).</summary>
    public const string DuplicateRequestId = "duplicate_request_id";
}
