using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace GrmWorker.Storage;

/// <summary>
/// Writes one finished job (job row, responses, samples, principles, critiques, scores, rewards) in ONE
/// transaction, the child rows with binary COPY. The job row goes first with ON CONFLICT DO NOTHING on
/// request_id: if the requestId is already stored (a redelivery, a re-sent request, a concurrent writer)
/// nothing is written and the stored result comes back. Cancelled or failed writes roll back whole.
/// </summary>
public sealed class JobWriter(NpgsqlDataSource dataSource, ILogger<JobWriter>? logger = null)
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <summary>Test seam: runs after each table is written, inside the transaction.</summary>
    internal Func<string, CancellationToken, Task>? AfterTable { get; set; }

    public async Task<JobWriteResult> WriteAsync(JobRecord job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        JobRecordChecks.ThrowIfUnstorable(job);
        cancellationToken.ThrowIfCancellationRequested();

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);

        var jobId = await InsertJobAsync(connection, tx, job, cancellationToken);
        if (jobId is null)
        {
            var stored = await ReadStoredAsync(connection, tx, job.RequestId, cancellationToken)
                ?? throw new InvalidOperationException($"request '{job.RequestId}' conflicted but is not stored");
            await tx.CommitAsync(cancellationToken);
            StorageLog.JobAlreadyStored(_logger, job.RequestId, stored.JobId);
            return new JobWriteResult(stored.JobId, false, stored.ResultJson);
        }
        var id = jobId.Value;
        await AfterAsync("scoring_jobs", cancellationToken);

        var rows = 1;
        rows += await CopyResponsesAsync(connection, id, job.Responses, cancellationToken);
        await AfterAsync("job_responses", cancellationToken);
        rows += await CopySamplesAsync(connection, id, job.Samples, cancellationToken);
        await AfterAsync("grm_samples", cancellationToken);
        rows += await CopyPrinciplesAsync(connection, id, job.Samples, cancellationToken);
        await AfterAsync("principles", cancellationToken);
        rows += await CopyCritiquesAsync(connection, id, job.Samples, cancellationToken);
        await AfterAsync("critiques", cancellationToken);
        rows += await CopyScoresAsync(connection, id, job.Samples, cancellationToken);
        await AfterAsync("scores", cancellationToken);
        rows += await CopyRewardsAsync(connection, id, job.Rewards, cancellationToken);
        await AfterAsync("rewards", cancellationToken);

        await tx.CommitAsync(cancellationToken);
        StorageLog.JobWritten(_logger, job.RequestId, id, rows);
        return new JobWriteResult(id, true, job.ResultJson);
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
        await CopyRewardsAsync(connection, jobId, rewards, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return true;
    }

    private Task AfterAsync(string table, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return AfterTable?.Invoke(table, cancellationToken) ?? Task.CompletedTask;
    }

    private static async Task<long?> InsertJobAsync(NpgsqlConnection connection, NpgsqlTransaction tx, JobRecord job, CancellationToken cancellationToken)
    {
        const string sql = """
            INSERT INTO scoring_jobs (request_id, route, status, error_code, error_message, request, result, model_id,
                prompt_version, aggregation, samples_used, samples_valid, stopped_early, latency_ms, prompt_tokens,
                generated_tokens, received_at, completed_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
            ON CONFLICT (request_id) DO NOTHING
            RETURNING id
            """;
        await using var command = new NpgsqlCommand(sql, connection, tx);
        var p = command.Parameters;
        p.Add(Text(job.RequestId));
        p.Add(Text(job.Route));
        p.Add(Text(job.Status));
        p.Add(Text(job.ErrorCode));
        p.Add(Text(job.ErrorMessage));
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = (object?)job.RequestJson ?? DBNull.Value });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = job.ResultJson });
        p.Add(Text(job.ModelId));
        p.Add(Text(job.PromptVersion));
        p.Add(Text(job.Aggregation));
        p.Add(new NpgsqlParameter<int> { TypedValue = job.SamplesUsed });
        p.Add(new NpgsqlParameter<int> { TypedValue = job.SamplesValid });
        p.Add(new NpgsqlParameter<bool> { TypedValue = job.StoppedEarly });
        p.Add(new NpgsqlParameter<double> { TypedValue = job.LatencyMs });
        p.Add(new NpgsqlParameter<long> { TypedValue = job.PromptTokens });
        p.Add(new NpgsqlParameter<long> { TypedValue = job.GeneratedTokens });
        p.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = job.ReceivedAt.ToUniversalTime() });
        p.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = job.CompletedAt.ToUniversalTime() });
        return await command.ExecuteScalarAsync(cancellationToken) is long id ? id : null;
    }

    private static NpgsqlParameter Text(string? value) =>
        new() { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)value ?? DBNull.Value };

    private static async Task<StoredResult?> ReadStoredAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string requestId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(JobReader.StoredResultSql, connection, tx);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = requestId });
        return await JobReader.ReadStoredResultAsync(command, cancellationToken);
    }

    private static async Task<int> CopyResponsesAsync(NpgsqlConnection connection, long jobId, IReadOnlyList<string> responses, CancellationToken cancellationToken)
    {
        if (responses.Count == 0) return 0;
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY job_responses (job_id, response_index, text) FROM STDIN (FORMAT BINARY)", cancellationToken);
        for (var i = 0; i < responses.Count; i++)
        {
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(jobId, NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync(i, NpgsqlDbType.Integer, cancellationToken);
            await copy.WriteAsync(responses[i], NpgsqlDbType.Text, cancellationToken);
        }
        await copy.CompleteAsync(cancellationToken);
        return responses.Count;
    }

    private static async Task<int> CopySamplesAsync(NpgsqlConnection connection, long jobId, IReadOnlyList<SampleRecord> samples, CancellationToken cancellationToken)
    {
        if (samples.Count == 0) return 0;
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY grm_samples (job_id, sample_index, seed, permutation, raw_text, parse_status, parse_reason, meta_score, " +
            "prompt_tokens, generated_tokens, latency_ms, prompt_version) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var s in samples)
        {
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(jobId, NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync(s.SampleIndex, NpgsqlDbType.Integer, cancellationToken);
            await copy.WriteAsync(s.Seed, NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync(s.Permutation as int[] ?? [.. s.Permutation], NpgsqlDbType.Array | NpgsqlDbType.Integer, cancellationToken);
            await copy.WriteAsync(s.RawText, NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(s.ParseStatus, NpgsqlDbType.Text, cancellationToken);
            await WriteTextAsync(copy, s.ParseReason, cancellationToken);
            await WriteAsync(copy, s.MetaScore, NpgsqlDbType.Double, cancellationToken);
            await copy.WriteAsync(s.PromptTokens, NpgsqlDbType.Integer, cancellationToken);
            await copy.WriteAsync(s.GeneratedTokens, NpgsqlDbType.Integer, cancellationToken);
            await copy.WriteAsync(s.LatencyMs, NpgsqlDbType.Double, cancellationToken);
            await copy.WriteAsync(s.PromptVersion, NpgsqlDbType.Text, cancellationToken);
        }
        await copy.CompleteAsync(cancellationToken);
        return samples.Count;
    }

    private static async Task<int> CopyPrinciplesAsync(NpgsqlConnection connection, long jobId, IReadOnlyList<SampleRecord> samples, CancellationToken cancellationToken)
    {
        if (!samples.Any(s => s.Principles.Count > 0)) return 0;
        var rows = 0;
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY principles (job_id, sample_index, ordinal, text, weight) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var s in samples)
        {
            foreach (var p in s.Principles)
            {
                await copy.StartRowAsync(cancellationToken);
                await copy.WriteAsync(jobId, NpgsqlDbType.Bigint, cancellationToken);
                await copy.WriteAsync(s.SampleIndex, NpgsqlDbType.Integer, cancellationToken);
                await copy.WriteAsync(p.Ordinal, NpgsqlDbType.Integer, cancellationToken);
                await copy.WriteAsync(p.Text, NpgsqlDbType.Text, cancellationToken);
                await WriteAsync(copy, p.Weight, NpgsqlDbType.Double, cancellationToken);
                rows++;
            }
        }
        await copy.CompleteAsync(cancellationToken);
        return rows;
    }

    private static async Task<int> CopyCritiquesAsync(NpgsqlConnection connection, long jobId, IReadOnlyList<SampleRecord> samples, CancellationToken cancellationToken)
    {
        if (!samples.Any(s => s.Critiques.Count > 0)) return 0;
        var rows = 0;
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY critiques (job_id, sample_index, response_index, text) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var s in samples)
        {
            foreach (var c in s.Critiques)
            {
                await copy.StartRowAsync(cancellationToken);
                await copy.WriteAsync(jobId, NpgsqlDbType.Bigint, cancellationToken);
                await copy.WriteAsync(s.SampleIndex, NpgsqlDbType.Integer, cancellationToken);
                await copy.WriteAsync(c.ResponseIndex, NpgsqlDbType.Integer, cancellationToken);
                await copy.WriteAsync(c.Text, NpgsqlDbType.Text, cancellationToken);
                rows++;
            }
        }
        await copy.CompleteAsync(cancellationToken);
        return rows;
    }

    private static async Task<int> CopyScoresAsync(NpgsqlConnection connection, long jobId, IReadOnlyList<SampleRecord> samples, CancellationToken cancellationToken)
    {
        if (!samples.Any(s => s.Scores.Count > 0)) return 0;
        var rows = 0;
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY scores (job_id, sample_index, response_index, score) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var s in samples)
        {
            foreach (var sc in s.Scores)
            {
                await copy.StartRowAsync(cancellationToken);
                await copy.WriteAsync(jobId, NpgsqlDbType.Bigint, cancellationToken);
                await copy.WriteAsync(s.SampleIndex, NpgsqlDbType.Integer, cancellationToken);
                await copy.WriteAsync(sc.ResponseIndex, NpgsqlDbType.Integer, cancellationToken);
                await copy.WriteAsync(checked((short)sc.Score), NpgsqlDbType.Smallint, cancellationToken);
                rows++;
            }
        }
        await copy.CompleteAsync(cancellationToken);
        return rows;
    }

    private static async Task<int> CopyRewardsAsync(NpgsqlConnection connection, long jobId, IReadOnlyList<RewardRecord> rewards, CancellationToken cancellationToken)
    {
        if (rewards.Count == 0) return 0;
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY rewards (job_id, strategy, response_index, value, vote_sum) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var r in rewards)
        {
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(jobId, NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync(r.Strategy, NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(r.ResponseIndex, NpgsqlDbType.Integer, cancellationToken);
            await copy.WriteAsync(r.Value, NpgsqlDbType.Double, cancellationToken);
            await WriteAsync(copy, r.VoteSum, NpgsqlDbType.Double, cancellationToken);
        }
        await copy.CompleteAsync(cancellationToken);
        return rewards.Count;
    }

    private static Task WriteAsync<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type, CancellationToken cancellationToken)
        where T : struct =>
        value is { } v ? copy.WriteAsync(v, type, cancellationToken) : copy.WriteNullAsync(cancellationToken);

    private static Task WriteTextAsync(NpgsqlBinaryImporter copy, string? value, CancellationToken cancellationToken) =>
        value is null ? copy.WriteNullAsync(cancellationToken) : copy.WriteAsync(value, NpgsqlDbType.Text, cancellationToken);
}

/// <summary>What Postgres cannot store at all, refused before a transaction starts.</summary>
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

    // Postgres text cannot hold U+0000 (jsonb neither, as \u0000); callers must strip or reject it first.
    public static void ThrowIfNul(string? value, string field)
    {
        if (value is not null && value.Contains('\0', StringComparison.Ordinal))
            throw new ArgumentException($"{field} contains a NUL character (U+0000), which Postgres text cannot store", field);
    }
}
