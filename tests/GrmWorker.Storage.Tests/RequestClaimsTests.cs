using Npgsql;

namespace GrmWorker.Storage.Tests;

/// <summary>Fleet-wide claims: one holder at a time, a dead holder's lease is taken over (one more attempt), a stored job is never claimed again.</summary>
[Collection(PostgresCollection.Name)]
public sealed class RequestClaimsTests(PostgresFixture fixture)
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task A_live_claim_keeps_other_workers_out_and_its_holder_may_claim_again()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var claims = new RequestClaims(db.DataSource);
        string[] ids = [TestJobs.NewRequestId(), TestJobs.NewRequestId()];

        var first = await claims.TryClaimAsync(ids, "worker-a", Lease, CancellationToken.None);
        var other = await claims.TryClaimAsync([ids[0]], "worker-b", Lease, CancellationToken.None);
        var again = await claims.TryClaimAsync(ids, "worker-a", Lease, CancellationToken.None);

        Assert.Equal(ids.Order(), first.Keys.Order());
        Assert.All(first.Values, attempt => Assert.Equal(1, attempt));
        Assert.Empty(other);
        Assert.All(again.Values, attempt => Assert.Equal(1, attempt));
    }

    [Fact]
    public async Task A_claim_whose_lease_ran_out_is_taken_over_as_the_next_attempt()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var claims = new RequestClaims(db.DataSource);
        var id = TestJobs.NewRequestId();

        await claims.TryClaimAsync([id], "worker-dead", TimeSpan.FromMilliseconds(200), CancellationToken.None);
        var whileLive = await claims.TryClaimAsync([id], "worker-b", Lease, CancellationToken.None);
        await WaitUntilAsync(async () => (await claims.TryClaimAsync([id], "worker-b", Lease, CancellationToken.None)).Count == 1);

        Assert.Empty(whileLive);
        Assert.Equal(2, await ScalarAsync<int>(db, "SELECT attempts FROM request_claims WHERE request_id = $1", id));
        Assert.Equal("worker-b", await ScalarAsync<string>(db, "SELECT worker_id FROM request_claims WHERE request_id = $1", id));
    }

    [Fact]
    public async Task A_released_claim_is_free_at_once_and_renewal_reports_what_is_still_held()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var claims = new RequestClaims(db.DataSource);
        string[] ids = [TestJobs.NewRequestId(), TestJobs.NewRequestId()];
        await claims.TryClaimAsync(ids, "worker-a", Lease, CancellationToken.None);

        await claims.ReleaseAsync([ids[0]], "worker-a", CancellationToken.None);
        var takenOver = await claims.TryClaimAsync([ids[0]], "worker-b", Lease, CancellationToken.None);
        var stillHeld = await claims.RenewAsync(ids, "worker-a", Lease, CancellationToken.None);

        Assert.Equal([ids[0]], takenOver.Keys);
        Assert.Equal(1, stillHeld);
    }

    [Fact]
    public async Task A_stored_job_marks_its_claim_done_and_no_worker_can_claim_it_again()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var claims = new RequestClaims(db.DataSource);
        var job = TestJobs.Scored(TestJobs.NewRequestId(), responses: 2, samples: 2);
        await claims.TryClaimAsync([job.RequestId], "worker-a", TimeSpan.FromMilliseconds(100), CancellationToken.None);

        await new JobWriter(db.DataSource).WriteAsync(job, CancellationToken.None);
        // Until the 100 ms lease it was claimed with has run out by the database's clock: only "done" keeps it now.
        await WaitUntilAsync(() => ScalarAsync<bool>(db, "SELECT now() > claimed_at + interval '100 milliseconds' FROM request_claims WHERE request_id = $1", job.RequestId));

        Assert.Empty(await claims.TryClaimAsync([job.RequestId], "worker-b", Lease, CancellationToken.None));
        Assert.Empty(await claims.TryClaimAsync([job.RequestId], "worker-a", Lease, CancellationToken.None));
        Assert.Equal(0, await claims.RenewAsync([job.RequestId], "worker-a", Lease, CancellationToken.None));
        Assert.True(await ScalarAsync<bool>(db, "SELECT lease_until = 'infinity' FROM request_claims WHERE request_id = $1", job.RequestId));
    }

    [Fact]
    public async Task Two_workers_claiming_the_same_ids_at_once_split_them_without_overlap()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var ids = Enumerable.Range(0, 200).Select(_ => TestJobs.NewRequestId()).ToArray();
        var claims = new RequestClaims(db.DataSource);

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(() =>
            claims.TryClaimAsync(w % 2 == 0 ? ids : [.. ids.Reverse()], $"worker-{w}", Lease, CancellationToken.None))));

        var all = results.SelectMany(r => r.Keys).ToList();
        Assert.Equal(ids.Length, all.Count);
        Assert.Equal(ids.Order(), all.Order());
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(50);
        }
    }

    private static async Task<T> ScalarAsync<T>(TestDatabase db, string sql, string id)
    {
        await using var command = db.DataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
