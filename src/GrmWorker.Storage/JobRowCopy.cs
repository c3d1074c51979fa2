using Npgsql;
using NpgsqlTypes;

namespace GrmWorker.Storage;

/// <summary>
/// The binary COPY of a job's rows, one COPY per table for many jobs; the caller owns the connection and the
/// transaction. <see cref="JobWriter.WriteBatchAsync"/> inserts the job rows itself (ON CONFLICT) and copies the child
/// rows (responses, samples, principles, critiques, scores, rewards) here; <see cref="JobWriter.BulkCopyAsync"/> copies
/// the job rows here too.
/// </summary>
internal static class JobRowCopy
{
    /// <summary>The job rows themselves, with the ids given (COPY writes an identity column's value as given).</summary>
    public static async Task CopyJobRowsAsync(NpgsqlConnection connection, IReadOnlyList<(long Id, JobRecord Job)> jobs, CancellationToken cancellationToken)
    {
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY scoring_jobs (id, request_id, route, status, error_code, error_message, request, result, model_id, prompt_version, aggregation, " +
            "samples_used, samples_valid, stopped_early, latency_ms, prompt_tokens, generated_tokens, received_at, completed_at) FROM STDIN (FORMAT BINARY)",
            cancellationToken);
        foreach (var (id, j) in jobs)
        {
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(id, NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync(j.RequestId, NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(j.Route, NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(j.Status, NpgsqlDbType.Text, cancellationToken);
            await WriteTextAsync(copy, j.ErrorCode, cancellationToken);
            await WriteTextAsync(copy, j.ErrorMessage, cancellationToken);
            await WriteTextAsync(copy, j.RequestJson, cancellationToken, NpgsqlDbType.Jsonb);
            await copy.WriteAsync(j.ResultJson, NpgsqlDbType.Jsonb, cancellationToken);
            await WriteTextAsync(copy, j.ModelId, cancellationToken);
            await WriteTextAsync(copy, j.PromptVersion, cancellationToken);
            await WriteTextAsync(copy, j.Aggregation, cancellationToken);
            await copy.WriteAsync(j.SamplesUsed, NpgsqlDbType.Integer, cancellationToken);
            await copy.WriteAsync(j.SamplesValid, NpgsqlDbType.Integer, cancellationToken);
            await copy.WriteAsync(j.StoppedEarly, NpgsqlDbType.Boolean, cancellationToken);
            await copy.WriteAsync(j.LatencyMs, NpgsqlDbType.Double, cancellationToken);
            await copy.WriteAsync(j.PromptTokens, NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync(j.GeneratedTokens, NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync(j.ReceivedAt.ToUniversalTime(), NpgsqlDbType.TimestampTz, cancellationToken);
            await copy.WriteAsync(j.CompletedAt.ToUniversalTime(), NpgsqlDbType.TimestampTz, cancellationToken);
        }
        await CompleteAsync(copy, "scoring_jobs", jobs.Count, cancellationToken);
    }

    /// <summary>
    /// Copies every child row of <paramref name="jobs"/> (job id already assigned); adds each job's row count to
    /// <paramref name="rows"/>; calls <paramref name="afterTable"/> after each table (a test hook for partial failures).
    /// </summary>
    public static async Task CopyChildRowsAsync(NpgsqlConnection connection, IReadOnlyList<(long Id, JobRecord Job)> jobs, int[] rows,
        Func<string, CancellationToken, Task>? afterTable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(rows);
        afterTable ??= static (_, _) => Task.CompletedTask;
        await CopyResponsesAsync(connection, jobs, rows, cancellationToken);
        await afterTable("job_responses", cancellationToken);
        await CopySamplesAsync(connection, jobs, rows, cancellationToken);
        await afterTable("grm_samples", cancellationToken);
        await CopyPrinciplesAsync(connection, jobs, rows, cancellationToken);
        await afterTable("principles", cancellationToken);
        await CopyCritiquesAsync(connection, jobs, rows, cancellationToken);
        await afterTable("critiques", cancellationToken);
        await CopyScoresAsync(connection, jobs, rows, cancellationToken);
        await afterTable("scores", cancellationToken);
        await CopyRewardsAsync(connection, [.. jobs.Select(c => (c.Id, c.Job.Rewards))], rows, cancellationToken);
        await afterTable("rewards", cancellationToken);
    }

    private static async Task CopyResponsesAsync(NpgsqlConnection connection, IReadOnlyList<(long Id, JobRecord Job)> jobs, int[] rows, CancellationToken cancellationToken)
    {
        if (!jobs.Any(j => j.Job.Responses.Count > 0)) return;
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY job_responses (job_id, response_index, text) FROM STDIN (FORMAT BINARY)", cancellationToken);
        long sent = 0;
        for (var k = 0; k < jobs.Count; k++)
        {
            var (jobId, job) = jobs[k];
            var responses = job.Responses;
            for (var i = 0; i < responses.Count; i++)
            {
                await copy.StartRowAsync(cancellationToken);
                await copy.WriteAsync(jobId, NpgsqlDbType.Bigint, cancellationToken);
                await copy.WriteAsync(i, NpgsqlDbType.Integer, cancellationToken);
                await copy.WriteAsync(responses[i], NpgsqlDbType.Text, cancellationToken);
            }
            rows[k] += responses.Count;
            sent += responses.Count;
        }
        await CompleteAsync(copy, "job_responses", sent, cancellationToken);
    }

    private static async Task CopySamplesAsync(NpgsqlConnection connection, IReadOnlyList<(long Id, JobRecord Job)> jobs, int[] rows, CancellationToken cancellationToken)
    {
        if (!jobs.Any(j => j.Job.Samples.Count > 0)) return;
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY grm_samples (job_id, sample_index, seed, permutation, raw_text, parse_status, parse_reason, meta_score, " +
            "prompt_tokens, generated_tokens, latency_ms, prompt_version) FROM STDIN (FORMAT BINARY)", cancellationToken);
        long sent = 0;
        for (var k = 0; k < jobs.Count; k++)
        {
            var (jobId, job) = jobs[k];
            foreach (var s in job.Samples)
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
            rows[k] += job.Samples.Count;
            sent += job.Samples.Count;
        }
        await CompleteAsync(copy, "grm_samples", sent, cancellationToken);
    }

    private static Task CopyPrinciplesAsync(NpgsqlConnection connection, IReadOnlyList<(long Id, JobRecord Job)> jobs, int[] rows, CancellationToken cancellationToken) =>
        CopySampleItemsAsync(connection, "principles", "ordinal, text, weight", jobs, rows, s => s.Principles, async (copy, p, ct) =>
        {
            await copy.WriteAsync(p.Ordinal, NpgsqlDbType.Integer, ct);
            await copy.WriteAsync(p.Text, NpgsqlDbType.Text, ct);
            await WriteAsync(copy, p.Weight, NpgsqlDbType.Double, ct);
        }, cancellationToken);

    private static Task CopyCritiquesAsync(NpgsqlConnection connection, IReadOnlyList<(long Id, JobRecord Job)> jobs, int[] rows, CancellationToken cancellationToken) =>
        CopySampleItemsAsync(connection, "critiques", "response_index, text", jobs, rows, s => s.Critiques, async (copy, c, ct) =>
        {
            await copy.WriteAsync(c.ResponseIndex, NpgsqlDbType.Integer, ct);
            await copy.WriteAsync(c.Text, NpgsqlDbType.Text, ct);
        }, cancellationToken);

    private static Task CopyScoresAsync(NpgsqlConnection connection, IReadOnlyList<(long Id, JobRecord Job)> jobs, int[] rows, CancellationToken cancellationToken) =>
        CopySampleItemsAsync(connection, "scores", "response_index, score", jobs, rows, s => s.Scores, async (copy, sc, ct) =>
        {
            await copy.WriteAsync(sc.ResponseIndex, NpgsqlDbType.Integer, ct);
            await copy.WriteAsync(checked((short)sc.Score), NpgsqlDbType.Smallint, ct);
        }, cancellationToken);

    /// <summary>
    /// One table of per-sample items (principles, critiques, scores): a row per item, keyed (job_id, sample_index)
    /// followed by the item's own <paramref name="columns"/>, which <paramref name="writeItem"/> writes.
    /// </summary>
    private static async Task CopySampleItemsAsync<T>(NpgsqlConnection connection, string table, string columns,
        IReadOnlyList<(long Id, JobRecord Job)> jobs, int[] rows, Func<SampleRecord, IReadOnlyList<T>> items,
        Func<NpgsqlBinaryImporter, T, CancellationToken, Task> writeItem, CancellationToken cancellationToken)
    {
        if (!jobs.Any(j => j.Job.Samples.Any(s => items(s).Count > 0))) return;
        await using var copy = await connection.BeginBinaryImportAsync(
            $"COPY {table} (job_id, sample_index, {columns}) FROM STDIN (FORMAT BINARY)", cancellationToken);
        long sent = 0;
        for (var k = 0; k < jobs.Count; k++)
        {
            var (jobId, job) = jobs[k];
            foreach (var s in job.Samples)
            {
                var sampleItems = items(s);
                foreach (var item in sampleItems)
                {
                    await copy.StartRowAsync(cancellationToken);
                    await copy.WriteAsync(jobId, NpgsqlDbType.Bigint, cancellationToken);
                    await copy.WriteAsync(s.SampleIndex, NpgsqlDbType.Integer, cancellationToken);
                    await writeItem(copy, item, cancellationToken);
                }
                rows[k] += sampleItems.Count;
                sent += sampleItems.Count;
            }
        }
        await CompleteAsync(copy, table, sent, cancellationToken);
    }

    internal static async Task CopyRewardsAsync(NpgsqlConnection connection, List<(long Id, IReadOnlyList<RewardRecord> Rewards)> jobs, int[] rows, CancellationToken cancellationToken)
    {
        if (!jobs.Any(j => j.Rewards.Count > 0)) return;
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY rewards (job_id, strategy, response_index, value, vote_sum) FROM STDIN (FORMAT BINARY)", cancellationToken);
        long sent = 0;
        for (var k = 0; k < jobs.Count; k++)
        {
            var (jobId, rewards) = jobs[k];
            foreach (var r in rewards)
            {
                await copy.StartRowAsync(cancellationToken);
                await copy.WriteAsync(jobId, NpgsqlDbType.Bigint, cancellationToken);
                await copy.WriteAsync(r.Strategy, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(r.ResponseIndex, NpgsqlDbType.Integer, cancellationToken);
                await copy.WriteAsync(r.Value, NpgsqlDbType.Double, cancellationToken);
                await WriteAsync(copy, r.VoteSum, NpgsqlDbType.Double, cancellationToken);
            }
            rows[k] += rewards.Count;
            sent += rewards.Count;
        }
        await CompleteAsync(copy, "rewards", sent, cancellationToken);
    }

    /// <summary>
    /// Ends a COPY and checks that Postgres took every row sent: a mismatch throws, so the caller's transaction does
    /// not commit a job with rows missing.
    /// </summary>
    private static async Task CompleteAsync(NpgsqlBinaryImporter copy, string table, long sent, CancellationToken cancellationToken)
    {
        var copied = await copy.CompleteAsync(cancellationToken);
        if (copied != (ulong)sent)
            throw new InvalidOperationException($"COPY {table}: Postgres reports {copied} rows copied, {sent} were sent");
    }

    private static Task WriteAsync<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type, CancellationToken cancellationToken)
        where T : struct =>
        value is { } v ? copy.WriteAsync(v, type, cancellationToken) : copy.WriteNullAsync(cancellationToken);

    private static Task WriteTextAsync(NpgsqlBinaryImporter copy, string? value, CancellationToken cancellationToken, NpgsqlDbType type = NpgsqlDbType.Text) =>
        value is null ? copy.WriteNullAsync(cancellationToken) : copy.WriteAsync(value, type, cancellationToken);
}
