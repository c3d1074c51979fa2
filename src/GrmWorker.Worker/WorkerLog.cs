using Microsoft.Extensions.Logging;

namespace GrmWorker.Worker;

/// <summary>The worker's log events, declared once; every per-job event carries the requestId.</summary>
internal static partial class WorkerLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Batch of {Count} requests received")]
    public static partial void BatchReceived(ILogger logger, int count);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Request {RequestId} rejected: {Code}: {Reason}")]
    public static partial void Rejected(ILogger logger, string requestId, string code, string reason);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Debug, Message = "Round {Round}: {Jobs} jobs, {Rows} rows, {GeneratedTokens} tokens in {ElapsedMs:F0} ms")]
    public static partial void RoundDone(ILogger logger, int round, int jobs, int rows, int generatedTokens, double elapsedMs);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Request {RequestId} {Status}: {SamplesValid}/{SamplesUsed} valid samples, {LatencyMs:F0} ms")]
    public static partial void JobScored(ILogger logger, string requestId, string status, int samplesUsed, int samplesValid, double latencyMs);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "Request {RequestId} is already stored (job {JobId}); its stored result is published again")]
    public static partial void Duplicate(ILogger logger, string requestId, long jobId);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Debug, Message = "Result of {RequestId} published to {Exchange} with routing key {RoutingKey}")]
    public static partial void ResultPublished(ILogger logger, string requestId, string exchange, string routingKey);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Warning, Message = "Message {MessageId} refused to the error queue: {Reason}")]
    public static partial void Unprocessable(ILogger logger, string? messageId, string reason);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Warning, Message = "Migrations failed (attempt {Attempt}); retrying in {Delay}")]
    public static partial void MigrationRetry(ILogger logger, Exception exception, int attempt, TimeSpan delay);

    [LoggerMessage(EventId = 4009, Level = LogLevel.Information, Message = "Migrations: {Applied} applied, {AlreadyApplied} applied earlier")]
    public static partial void Migrated(ILogger logger, int applied, int alreadyApplied);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Error, Message = "Request {RequestId} failed in generation: {Code}: {Reason}")]
    public static partial void RoundFailed(ILogger logger, string requestId, string code, string reason);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Warning, Message = "Transient {Dependency} error; attempt {Attempt} retries in {Delay}")]
    public static partial void TransientRetry(ILogger logger, Exception? exception, string dependency, int attempt, TimeSpan delay);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Information, Message = "Model {ModelId} loaded from {Directory} (context {ContextLength})")]
    public static partial void ModelLoaded(ILogger logger, string modelId, string directory, int contextLength);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Information, Message = "Meta-RM {MetaRmModelId} loaded from {Directory}; meta-rm aggregation is available")]
    public static partial void MetaRmLoaded(ILogger logger, string metaRmModelId, string directory);

    [LoggerMessage(EventId = 4014, Level = LogLevel.Information, Message = "No meta-RM (Model:MetaRmDirectory, grm-config.json metaRm); meta-rm aggregation is refused")]
    public static partial void NoMetaRm(ILogger logger);

    [LoggerMessage(EventId = 4015, Level = LogLevel.Debug, Message = "Meta-RM scored {Samples} samples of {Jobs} jobs in {ElapsedMs:F0} ms")]
    public static partial void MetaScored(ILogger logger, int samples, int jobs, double elapsedMs);

    [LoggerMessage(EventId = 4016, Level = LogLevel.Information, Message = "{Count} requests are being scored by another worker (e.g. {RequestId}); waiting for their stored results")]
    public static partial void WaitingForClaims(ILogger logger, int count, string requestId);

    [LoggerMessage(EventId = 4017, Level = LogLevel.Warning, Message = "{Lost} of {Held} claimed requests were taken over by another worker (this one's lease ran out); both may run them, the first stored result counts")]
    public static partial void ClaimsLost(ILogger logger, int lost, int held);

    [LoggerMessage(EventId = 4018, Level = LogLevel.Warning, Message = "Could not renew or release request claims; their lease runs out on its own")]
    public static partial void ClaimRenewalFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4019, Level = LogLevel.Information, Message = "Request {RequestId} claimed (attempt {Attempt}); generating")]
    public static partial void Claimed(ILogger logger, string requestId, int attempt);

    [LoggerMessage(EventId = 4020, Level = LogLevel.Warning, Message = "Message {MessageId} moved to the error queue: {Code}: {Reason}")]
    public static partial void MovedToErrorQueue(ILogger logger, Exception? exception, string? messageId, string code, string reason);

    [LoggerMessage(EventId = 4021, Level = LogLevel.Error, Message = "A batch of {Count} requests failed; each is run on its own so the failure stays with the request that caused it")]
    public static partial void BatchSplit(ILogger logger, Exception exception, int count);
}
