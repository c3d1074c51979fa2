using Npgsql;

namespace GrmWorker.Storage;

/// <summary>
/// Fleet-wide claims on requestIds (table <c>request_claims</c>): a worker claims a request before it generates, so
/// a copy of it on another worker waits for the stored result instead of paying for a second run. A claim is a lease:
/// the holder renews it while it runs, <see cref="JobWriter"/> marks it done when the job is stored, and a claim whose
/// lease ran out (its worker died) can be taken over, which counts one more attempt.
/// </summary>
public sealed class RequestClaims(NpgsqlDataSource dataSource)
{
    // Rows in one order ("C" collation = ordinal) so two workers claiming overlapping sets cannot deadlock.
    // The holder itself may claim again (a retried batch) without counting an attempt; a done claim is never taken.
    internal const string ClaimSql = """
        INSERT INTO request_claims AS c (request_id, worker_id, lease_until)
        SELECT id, $2, now() + make_interval(secs => $3) FROM unnest($1::text[]) AS t(id) ORDER BY id COLLATE "C"
        ON CONFLICT (request_id) DO UPDATE
            SET worker_id = EXCLUDED.worker_id, lease_until = EXCLUDED.lease_until, claimed_at = now(),
                attempts = c.attempts + CASE WHEN c.worker_id = EXCLUDED.worker_id THEN 0 ELSE 1 END
            WHERE c.lease_until <> 'infinity' AND (c.lease_until < now() OR c.worker_id = EXCLUDED.worker_id)
        RETURNING request_id, attempts
        """;

    internal const string RenewSql = """
        UPDATE request_claims SET lease_until = now() + make_interval(secs => $3)
        WHERE request_id = ANY($1) AND worker_id = $2 AND lease_until <> 'infinity'
        """;

    internal const string ReleaseSql = """
        UPDATE request_claims SET lease_until = '-infinity'
        WHERE request_id = ANY($1) AND worker_id = $2 AND lease_until <> 'infinity'
        """;

    internal const string MarkDoneSql = "UPDATE request_claims SET lease_until = 'infinity' WHERE request_id = ANY($1)";

    /// <summary>
    /// Claims those of <paramref name="requestIds"/> that no other worker holds a live lease on and that are not done;
    /// returns them with their attempt number (1 = first run; more = taken over from a worker whose lease ran out).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, int>> TryClaimAsync(IReadOnlyCollection<string> requestIds, string workerId, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        ArgumentException.ThrowIfNullOrEmpty(workerId);
        var claimed = new Dictionary<string, int>(StringComparer.Ordinal);
        if (requestIds.Count == 0) return claimed;
        await using var command = Command(ClaimSql, requestIds, workerId, lease);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) claimed[reader.GetString(0)] = reader.GetInt32(1);
        return claimed;
    }

    /// <summary>Extends this worker's live claims; returns how many it still holds (fewer: another worker took some over).</summary>
    public async Task<int> RenewAsync(IReadOnlyCollection<string> requestIds, string workerId, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        await using var command = Command(RenewSql, requestIds, workerId, lease);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Gives this worker's unfinished claims up at once (a failed or cancelled run), so another worker need not wait out the lease.</summary>
    public async Task ReleaseAsync(IReadOnlyCollection<string> requestIds, string workerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        await using var command = dataSource.CreateCommand(ReleaseSql);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. requestIds] });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = workerId });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Inside the transaction that stores the jobs: their claims are done and can never be taken again.</summary>
    internal static async Task MarkDoneAsync(NpgsqlConnection connection, NpgsqlTransaction tx, IReadOnlyCollection<string> requestIds, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(MarkDoneSql, connection, tx);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. requestIds] });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private NpgsqlCommand Command(string sql, IReadOnlyCollection<string> requestIds, string workerId, TimeSpan lease)
    {
        var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. requestIds] });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = workerId });
        command.Parameters.Add(new NpgsqlParameter<double> { TypedValue = lease.TotalSeconds });
        return command;
    }
}
