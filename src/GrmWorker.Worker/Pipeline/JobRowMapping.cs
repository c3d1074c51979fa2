using System.Text.Json;
using GrmWorker.Contracts;
using GrmWorker.Scoring.Prompting;
using GrmWorker.Storage;

namespace GrmWorker.Worker.Pipeline;

/// <summary>
/// A <see cref="FinishedJob"/> as the <see cref="JobRecord"/> Storage writes, at the storage edge (<see cref="JobService"/>,
/// <see cref="Messaging.MalformedRequestRejecter"/>) and where `grm score` prints a job as it is stored: the result JSON as
/// published, the request body as a row can hold it (<see cref="RequestRules.StorableJson"/>), the samples as rows
/// (<see cref="SampleRowMapping"/>) and the rewards under the job's aggregation. A job that never ran keeps no
/// responses, prompt version, aggregation or latency in its row (its result still says how long it waited).
/// </summary>
internal static class JobRowMapping
{
    public static JobRecord ToRecord(FinishedJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var result = job.Result;
        return new JobRecord
        {
            RequestId = result.RequestId,
            Route = result.Route,
            Status = result.Status,
            ErrorCode = result.Error?.Code,
            ErrorMessage = result.Error?.Message,
            // A body rejected as too large is not kept: storing it would let every oversized message grow the table.
            RequestJson = result.Error?.Code == ErrorCodes.TooLarge ? null : RequestRules.StorableJson(job.Incoming.BodyJson),
            ResultJson = JsonSerializer.Serialize(result, WireJson.Options),
            ModelId = result.ModelId,
            PromptVersion = job.WasRun ? PromptBuilder.PromptVersion : null,
            Aggregation = job.WasRun ? result.Aggregation : null,
            SamplesUsed = result.SamplesUsed,
            SamplesValid = result.SamplesValid,
            StoppedEarly = result.StoppedEarly,
            LatencyMs = job.RunLatencyMs,
            PromptTokens = result.Tokens.Prompt,
            GeneratedTokens = result.Tokens.Generated,
            ReceivedAt = job.Incoming.ReceivedAt,
            CompletedAt = job.CompletedAt,
            Responses = job.WasRun ? job.Incoming.Request.Responses : [],
            Samples = [.. job.Samples.Select(SampleRowMapping.ToRecord)],
            Rewards = [.. result.Rewards.Select((value, i) => new RewardRecord(result.Aggregation!, i, value, result.VoteSums[i]))],
        };
    }
}
