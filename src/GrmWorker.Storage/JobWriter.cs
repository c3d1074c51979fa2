using GrmWorker.Contracts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace GrmWorker.Storage;

/// <summary>
/// Writes finished jobs (job row, responses, samples, principles, critiques, scores, rewards): a batch in ONE
/// transaction, the job rows with one INSERT, the child rows with one binary COPY per table. Job rows go in with
/// ON CONFLICT DO NOTHING on request_id: a requestId already stored (a redelivery, a re-sent request, a concurrent
/// writer) writes nothing and its stored result comes back. Cancelled or failed writes roll back whole.
/// </summary>
public sealed class JobWriter(NpgsqlDataSource dataSource, ILogger<JobWriter>? logger = null)
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <summary>Test seam: runs after each table is written, inside the transaction.</summary>
    internal Func<string, CancellationToken, Task>? AfterTable { get; set; }

    public async Task<JobWriteResult> WriteAsync(JobRecord job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        return (await WriteBatchAsync([job], cancellationToken))[0];
    }

    /// <summary>
    /// Writes <paramref name="jobs"/> in one transaction and returns one result per job, in order. A requestId that
    /// is stored already, or comes earlier in the same batch, writes nothing: Created false, the stored job's id and result.
    /// </summary>
    public async Task<IReadOnlyList<JobWriteResult>> WriteBatchAsync(IReadOnlyList<JobRecord> jobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        foreach (var job in jobs)
        {
            ArgumentNullException.ThrowIfNull(job);
            JobRecordChecks.ThrowIfUnstorable(job);
        }
        cancellationToken.ThrowIfCancellationRequested();
        if (jobs.Count == 0) return [];

        // First occurrence of each requestId, in ordinal order: concurrent batches then lock keys in one order.
        var unique = jobs.DistinctBy(j => j.RequestId, StringComparer.Ordinal)
            .OrderBy(j => j.RequestId, StringComparer.Ordinal)
            .ToList();

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);

        var createdIds = await InsertJobsAsync(connection, tx, unique, cancellationToken);
        var results = new Dictionary<string, JobWriteResult>(StringComparer.Ordinal);
        var created = new List<(long Id, JobRecord Job)>(createdIds.Count);
        foreach (var job in unique)
        {
            if (createdIds.TryGetValue(job.RequestId, out var id))
            {
                created.Add((id, job));
                results[job.RequestId] = new JobWriteResult(id, true, job.ResultJson);
            }
        }
        var conflicted = unique.Where(j => !createdIds.ContainsKey(j.RequestId)).Select(j => j.RequestId).ToList();
        if (conflicted.Count > 0)
        {
            var stored = await ReadStoredAsync(connection, tx, conflicted, cancellationToken);
            foreach (var requestId in conflicted)
            {
                var s = stored.GetValueOrDefault(requestId)
                    ?? throw new InvalidOperationException($"request '{requestId}' conflicted but is not stored");
                StorageLog.JobAlreadyStored(_logger, requestId, s.JobId);
                results[requestId] = new JobWriteResult(s.JobId, false, s.ResultJson);
            }
        }
        await AfterAsync("scoring_jobs", cancellationToken);

        var rows = new int[created.Count];
        if (created.Count > 0)
        {
            await JobRowCopy.CopyChildRowsAsync(connection, created, rows, AfterAsync, cancellationToken);
        }

        // Stored now: no worker may claim these requestIds to run them again.
        await RequestClaims.MarkDoneAsync(connection, tx, [.. unique.Select(j => j.RequestId)], cancellationToken);
        await tx.CommitAsync(cancellationToken);
        for (var i = 0; i < created.Count; i++)
            StorageLog.JobWritten(_logger, created[i].Job.RequestId, created[i].Id, rows[i] + 1);

        // A later copy of a requestId in this batch gets the first one's result, as a duplicate.
        var first = new HashSet<string>(StringComparer.Ordinal);
        return [.. jobs.Select(j => first.Add(j.RequestId) ? results[j.RequestId] : results[j.RequestId] with { Created = false })];
    }

    /// <summary>
    /// Bulk load: writes <paramref name="jobs"/>, none of them stored yet, in ONE transaction with one binary COPY per
    /// table (the job rows too; ids come from the table's identity sequence). No conflict handling: a requestId that is
    /// stored already, or twice in <paramref name="jobs"/>, fails the whole load. Request claims are not touched. For
    /// filling a fresh database; the pipeline bench measures it as the raw-COPY baseline of the worker's write path.
    /// </summary>
    public async Task BulkCopyAsync(IReadOnlyList<JobRecord> jobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        foreach (var job in jobs)
        {
            ArgumentNullException.ThrowIfNull(job);
            JobRecordChecks.ThrowIfUnstorable(job);
        }
        if (jobs.Count == 0) return;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var ids = new List<long>(jobs.Count);
        await using (var next = new NpgsqlCommand(
            "SELECT nextval(pg_get_serial_sequence('scoring_jobs', 'id')) FROM generate_series(1, $1)", connection, tx))
        {
            next.Parameters.Add(new NpgsqlParameter<int> { TypedValue = jobs.Count });
            await using var reader = await next.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) ids.Add(reader.GetInt64(0));
        }
        var numbered = jobs.Select((j, i) => (ids[i], j)).ToList();
        await JobRowCopy.CopyJobRowsAsync(connection, numbered, cancellationToken);
        await JobRowCopy.CopyChildRowsAsync(connection, numbered, new int[numbered.Count], null, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Adds reward rows for strategies the job does not have yet (replay), leaving earlier strategies untouched.
    /// Returns false, writing nothing, when the job already has rows for one of these strategies.
    /// </summary>
    public async Task<bool> AddRewardsAsync(long jobId, IReadOnlyList<RewardRecord> rewards, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        foreach (var (r, i) in rewards.Select((r, i) => (r, i))) JobRecordChecks.ThrowIfNul(r.Strategy, $"Rewards[{i}].Strategy");

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        // Lock the job row so two replays of one strategy serialise and the second sees the first's rows.
        await using (var lockJob = new NpgsqlCommand("SELECT 1 FROM scoring_jobs WHERE id = $1 FOR UPDATE", connection, tx))
        {
            lockJob.Parameters.Add(new NpgsqlParameter<long> { TypedValue = jobId });
            if (await lockJob.ExecuteScalarAsync(cancellationToken) is null)
                throw new KeyNotFoundException($"job {jobId} is not stored");
        }
        await using (var exists = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM rewards WHERE job_id = $1 AND strategy = ANY($2))", connection, tx))
        {
            exists.Parameters.Add(new NpgsqlParameter<long> { TypedValue = jobId });
            exists.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = rewards.Select(r => r.Strategy).Distinct().ToArray() });
            if (await exists.ExecuteScalarAsync(cancellationToken) is true) return false;
        }
        await JobRowCopy.CopyRewardsAsync(connection, [(jobId, rewards)], new int[1], cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return true;
    }

    private Task AfterAsync(string table, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return AfterTable?.Invoke(table, cancellationToken) ?? Task.CompletedTask;
    }

    /// <summary>Inserts the job rows, skipping stored requestIds; returns the new id of each requestId inserted.</summary>
    private static async Task<Dictionary<string, long>> InsertJobsAsync(NpgsqlConnection connection, NpgsqlTransaction tx, List<JobRecord> jobs, CancellationToken cancellationToken)
    {
        const string sql = """
            INSERT INTO scoring_jobs (request_id, route, status, error_code, error_message, request, result, model_id,
                prompt_version, aggregation, samples_used, samples_valid, stopped_early, latency_ms, prompt_tokens,
                generated_tokens, received_at, completed_at)
            SELECT request_id, route, status, error_code, error_message, request::jsonb, result::jsonb, model_id,
                prompt_version, aggregation, samples_used, samples_valid, stopped_early, latency_ms, prompt_tokens,
                generated_tokens, received_at, completed_at
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                $9::text[], $10::text[], $11::integer[], $12::integer[], $13::boolean[], $14::double precision[],
                $15::bigint[], $16::bigint[], $17::timestamptz[], $18::timestamptz[]) WITH ORDINALITY
                AS t(request_id, route, status, error_code, error_message, request, result, model_id, prompt_version,
                aggregation, samples_used, samples_valid, stopped_early, latency_ms, prompt_tokens, generated_tokens,
                received_at, completed_at, ordinal)
            ORDER BY ordinal
            ON CONFLICT (request_id) DO NOTHING
            RETURNING id, request_id
            """;
        await using var command = new NpgsqlCommand(sql, connection, tx);
        var p = command.Parameters;
        p.Add(Texts(jobs, j => j.RequestId));
        p.Add(Texts(jobs, j => j.Route));
        p.Add(Texts(jobs, j => j.Status));
        p.Add(Texts(jobs, j => j.ErrorCode));
        p.Add(Texts(jobs, j => j.ErrorMessage));
        p.Add(Texts(jobs, j => j.RequestJson));
        p.Add(Texts(jobs, j => j.ResultJson));
        p.Add(Texts(jobs, j => j.ModelId));
        p.Add(Texts(jobs, j => j.PromptVersion));
        p.Add(Texts(jobs, j => j.Aggregation));
        p.Add(new NpgsqlParameter<int[]> { TypedValue = [.. jobs.Select(j => j.SamplesUsed)] });
        p.Add(new NpgsqlParameter<int[]> { TypedValue = [.. jobs.Select(j => j.SamplesValid)] });
        p.Add(new NpgsqlParameter<bool[]> { TypedValue = [.. jobs.Select(j => j.StoppedEarly)] });
        p.Add(new NpgsqlParameter<double[]> { TypedValue = [.. jobs.Select(j => j.LatencyMs)] });
        p.Add(new NpgsqlParameter<long[]> { TypedValue = [.. jobs.Select(j => j.PromptTokens)] });
        p.Add(new NpgsqlParameter<long[]> { TypedValue = [.. jobs.Select(j => j.GeneratedTokens)] });
        p.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. jobs.Select(j => j.ReceivedAt.ToUniversalTime())] });
        p.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. jobs.Select(j => j.CompletedAt.ToUniversalTime())] });

        var ids = new Dictionary<string, long>(jobs.Count, StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) ids[reader.GetString(1)] = reader.GetInt64(0);
        return ids;
    }

    private static NpgsqlParameter Texts(List<JobRecord> jobs, Func<JobRecord, string?> value) =>
        new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = jobs.Select(value).ToArray() };

    private static async Task<IReadOnlyDictionary<string, StoredResult>> ReadStoredAsync(NpgsqlConnection connection, NpgsqlTransaction tx, IReadOnlyList<string> requestIds, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(JobReader.StoredResultsSql, connection, tx);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. requestIds] });
        return await JobReader.ReadStoredResultsAsync(command, cancellationToken);
    }
}

internal static class JobRecordChecks
{
    public static void ThrowIfUnstorable(JobRecord job)
    {
        ArgumentException.ThrowIfNullOrEmpty(job.RequestId, nameof(job.RequestId));
        ThrowIfNul(job.RequestId, nameof(job.RequestId));
        ThrowIfNul(job.Route, nameof(job.Route));
        ThrowIfNul(job.Status, nameof(job.Status));
        ThrowIfNul(job.ErrorCode, nameof(job.ErrorCode));
        ThrowIfNul(job.ErrorMessage, nameof(job.ErrorMessage));
        ThrowIfNul(job.ModelId, nameof(job.ModelId));
        ThrowIfNul(job.PromptVersion, nameof(job.PromptVersion));
        ThrowIfNul(job.Aggregation, nameof(job.Aggregation));
        for (var i = 0; i < job.Responses.Count; i++) ThrowIfNul(job.Responses[i], $"Responses[{i}]");
        for (var i = 0; i < job.Samples.Count; i++)
        {
            var s = job.Samples[i];
            ThrowIfNul(s.RawText, $"Samples[{i}].RawText");
            ThrowIfNul(s.ParseStatus, $"Samples[{i}].ParseStatus");
            ThrowIfNul(s.ParseReason, $"Samples[{i}].ParseReason");
            ThrowIfNul(s.PromptVersion, $"Samples[{i}].PromptVersion");
            for (var j = 0; j < s.Principles.Count; j++) ThrowIfNul(s.Principles[j].Text, $"Samples[{i}].Principles[{j}].Text");
            for (var j = 0; j < s.Critiques.Count; j++) ThrowIfNul(s.Critiques[j].Text, $"Samples[{i}].Critiques[{j}].Text");
        }
        for (var i = 0; i < job.Rewards.Count; i++) ThrowIfNul(job.Rewards[i].Strategy, $"Rewards[{i}].Strategy");
    }

    // Postgres text cannot hold U+0000 (jsonb neither, as \u0000); callers strip or reject it first (RequestRules),
    // so one here is a bug of the caller.
    public static void ThrowIfNul(string? value, string field)
    {
        if (RequestRules.HasNul(value))
            throw new ArgumentException($"{field} contains {RequestRules.NulName}, which Postgres text cannot store", field);
    }
}
