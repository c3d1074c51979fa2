using Microsoft.Extensions.Logging;

namespace GrmWorker.Storage;

/// <summary>The log events of Storage, declared once.</summary>
internal static partial class StorageLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Applying migration {FileName}")]
    public static partial void ApplyingMigration(ILogger logger, string fileName);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Migrations: {Applied} applied, {AlreadyApplied} already applied")]
    public static partial void MigrationsDone(ILogger logger, int applied, int alreadyApplied);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Debug, Message = "Stored job {RequestId} as {JobId}: {Rows} rows")]
    public static partial void JobWritten(ILogger logger, string requestId, long jobId, int rows);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Job {RequestId} already stored as {JobId}; nothing written")]
    public static partial void JobAlreadyStored(ILogger logger, string requestId, long jobId);
}
