using GrmWorker.Storage.Model;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace GrmWorker.Storage;

/// <summary>Reads stored jobs: the stored result of a requestId (idempotency), whole jobs (replay, jobs show) and lists.</summary>
public sealed class JobReader(NpgsqlDataSource dataSource)
{
    internal const string StoredResultSql = "SELECT id, request_id, route, status, result::text FROM scoring_jobs WHERE request_id = $1";
    internal const string StoredResultsSql = "SELECT id, request_id, route, status, result::text FROM scoring_jobs WHERE request_id = ANY($1)";

    private readonly DbContextOptions<GrmDbContext> _contextOptions = GrmDbContext.CreateOptions(dataSource);

    /// <summary>A read-only context on the same data source, for queries this class does not offer.</summary>
    public GrmDbContext CreateContext() => new(_contextOptions);

    /// <summary>The stored result of <paramref name="requestId"/>, or null when it was never stored.</summary>
    public async Task<StoredResult?> TryGetStoredResultAsync(string requestId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        await using var command = dataSource.CreateCommand(StoredResultSql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = requestId });
        return await ReadStoredResultAsync(command, cancellationToken);
    }

    /// <summary>The stored results of those of <paramref name="requestIds"/> that are stored, by requestId; one query.</summary>
    public async Task<IReadOnlyDictionary<string, StoredResult>> GetStoredResultsAsync(IReadOnlyCollection<string> requestIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        if (requestIds.Count == 0) return new Dictionary<string, StoredResult>(StringComparer.Ordinal);
        await using var command = dataSource.CreateCommand(StoredResultsSql);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. requestIds] });
        return await ReadStoredResultsAsync(command, cancellationToken);
    }

    internal static async Task<IReadOnlyDictionary<string, StoredResult>> ReadStoredResultsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var results = new Dictionary<string, StoredResult>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var result = new StoredResult(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4));
            results[result.RequestId] = result;
        }
        return results;
    }

    internal static async Task<StoredResult?> ReadStoredResultAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        return new StoredResult(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4));
    }

    /// <summary>The whole stored job (every row, rewards of every strategy), or null.</summary>
    public async Task<StoredJob?> GetJobAsync(string requestId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        await using var db = CreateContext();
        var row = await db.Jobs
            .Where(j => j.RequestId == requestId)
            .WithWholeJob()
            .SingleOrDefaultAsync(cancellationToken);
        return row is null ? null : new StoredJob(row.Id, row.CreatedAt, ToRecord(row));
    }

    /// <summary>The newest jobs first (without their child rows), optionally of one status.</summary>
    public async Task<IReadOnlyList<JobRow>> ListJobsAsync(int limit, string? status, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var db = CreateContext();
        var query = db.Jobs.AsQueryable();
        if (status is not null) query = query.Where(j => j.Status == status);
        return await query.OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id).Take(limit).ToListAsync(cancellationToken);
    }

    internal static JobRecord ToRecord(JobRow row) => new()
    {
        RequestId = row.RequestId,
        Route = row.Route,
        Status = row.Status,
        ErrorCode = row.ErrorCode,
        ErrorMessage = row.ErrorMessage,
        RequestJson = row.Request,
        ResultJson = row.Result,
        ModelId = row.ModelId,
        PromptVersion = row.PromptVersion,
        Aggregation = row.Aggregation,
        SamplesUsed = row.SamplesUsed,
        SamplesValid = row.SamplesValid,
        StoppedEarly = row.StoppedEarly,
        LatencyMs = row.LatencyMs,
        PromptTokens = row.PromptTokens,
        GeneratedTokens = row.GeneratedTokens,
        ReceivedAt = row.ReceivedAt,
        CompletedAt = row.CompletedAt,
        Responses = [.. row.Responses.OrderBy(r => r.ResponseIndex).Select(r => r.Text)],
        Samples = [.. row.Samples.OrderBy(s => s.SampleIndex).Select(s => new SampleRecord
        {
            SampleIndex = s.SampleIndex,
            Seed = s.Seed,
            Permutation = s.Permutation,
            RawText = s.RawText,
            ParseStatus = s.ParseStatus,
            ParseReason = s.ParseReason,
            MetaScore = s.MetaScore,
            PromptTokens = s.PromptTokens,
            GeneratedTokens = s.GeneratedTokens,
            LatencyMs = s.LatencyMs,
            PromptVersion = s.PromptVersion,
            Principles = [.. s.Principles.OrderBy(p => p.Ordinal).Select(p => new PrincipleRecord(p.Ordinal, p.Text, p.Weight))],
            Critiques = [.. s.Critiques.OrderBy(c => c.ResponseIndex).Select(c => new CritiqueRecord(c.ResponseIndex, c.Text))],
            Scores = [.. s.Scores.OrderBy(c => c.ResponseIndex).Select(c => new ScoreRecord(c.ResponseIndex, c.Score))],
        })],
        Rewards = [.. row.Rewards.OrderBy(r => r.Id).Select(r => new RewardRecord(r.Strategy, r.ResponseIndex, r.Value, r.VoteSum))],
    };
}
