using Npgsql;
using static GrmWorker.Storage.Tests.WrittenRows;

namespace GrmWorker.Storage.Tests;

/// <summary>A requestId is stored once: a repeat, in a later write, in the same batch or in a concurrent one, writes nothing and gets the stored result; a bulk COPY refuses one.</summary>
[Collection(PostgresCollection.Name)]
public sealed class JobWriterConflictTests(PostgresFixture fixture)
{
    [Fact]
    public async Task A_duplicate_request_id_writes_nothing_and_returns_the_stored_result()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var requestId = TestJobs.NewRequestId();
        var writer = new JobWriter(db.DataSource);
        var first = await writer.WriteAsync(TestJobs.Scored(requestId), CancellationToken.None);
        var countsBefore = await CountsAsync(db, first.JobId);
        var resend = TestJobs.Scored(requestId, responses: 2, samples: 6) with
        {
            ResultJson = """{"status": "scored", "rewards": [1, 2]}""",
        };

        var second = await writer.WriteAsync(resend, CancellationToken.None);

        Assert.False(second.Created);
        Assert.Equal(first.JobId, second.JobId);
        AssertJsonEqual(TestJobs.Scored(requestId).ResultJson, second.ResultJson);
        Assert.Equal(countsBefore, await CountsAsync(db, first.JobId));
        var stored = await new JobReader(db.DataSource).TryGetStoredResultAsync(requestId, CancellationToken.None);
        Assert.Equal(first.JobId, stored!.JobId);
        Assert.Equal("scored", stored.Status);
        AssertJsonEqual(TestJobs.Scored(requestId).ResultJson, stored.ResultJson);
    }

    [Fact]
    public async Task Concurrent_writes_of_one_request_id_store_it_once()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var requestId = TestJobs.NewRequestId();
        var writer = new JobWriter(db.DataSource);

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ =>
            Task.Run(() => writer.WriteAsync(TestJobs.Scored(requestId), CancellationToken.None))));

        Assert.Single(results, r => r.Created);
        Assert.Single(results.Select(r => r.JobId).Distinct());
        var counts = await CountsAsync(db, results[0].JobId);
        Assert.Equal(1, counts["scoring_jobs"]);
        Assert.Equal(3, counts["job_responses"]);
        Assert.Equal(9, counts["scores"]);
    }

    [Fact]
    public async Task A_batch_writes_a_request_id_once_when_it_is_stored_or_repeated_in_the_batch()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var writer = new JobWriter(db.DataSource);
        var storedId = TestJobs.NewRequestId();
        var before = await writer.WriteAsync(TestJobs.Scored(storedId), CancellationToken.None);
        var countsBefore = await CountsAsync(db, before.JobId);
        var repeatedId = TestJobs.NewRequestId();
        var newId = TestJobs.NewRequestId();
        var other = """{"status": "scored", "rewards": [1, 2]}""";
        JobRecord[] batch =
        [
            TestJobs.Scored(repeatedId),
            TestJobs.Scored(storedId, responses: 2, samples: 6) with { ResultJson = other },
            TestJobs.Scored(newId, samples: 2),
            TestJobs.Scored(repeatedId, responses: 2, samples: 1) with { ResultJson = other },
        ];

        var written = await writer.WriteBatchAsync(batch, CancellationToken.None);

        Assert.Equal([true, false, true, false], written.Select(w => w.Created));
        Assert.Equal(before.JobId, written[1].JobId);
        AssertJsonEqual(TestJobs.Scored(storedId).ResultJson, written[1].ResultJson);
        Assert.Equal(written[0].JobId, written[3].JobId);
        AssertJsonEqual(TestJobs.Scored(repeatedId).ResultJson, written[3].ResultJson);
        Assert.Equal(countsBefore, await CountsAsync(db, before.JobId));
        Assert.Equal(1, await db.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = $1", repeatedId));
        var repeated = await new JobReader(db.DataSource).GetJobAsync(repeatedId, CancellationToken.None);
        AssertSameJob(batch[0], repeated!.Job);
        var results = await new JobReader(db.DataSource).GetStoredResultsAsync([storedId, repeatedId, newId, TestJobs.NewRequestId()], CancellationToken.None);
        Assert.Equal(3, results.Count);
        Assert.Equal(before.JobId, results[storedId].JobId);
        Assert.Equal(written[2].JobId, results[newId].JobId);
    }

    [Fact]
    public async Task Concurrent_batches_sharing_request_ids_store_each_once()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var ids = Enumerable.Range(0, 8).Select(i => TestJobs.NewRequestId($"c{i}")).ToArray();
        var writer = new JobWriter(db.DataSource);

        var orders = Enumerable.Range(0, 4).Select(k => k % 2 == 0 ? ids : [.. ids.Reverse()]).ToArray();

        var results = await Task.WhenAll(orders.Select(order =>
            Task.Run(() => writer.WriteBatchAsync([.. order.Select(id => TestJobs.Scored(id, samples: 1))], CancellationToken.None))));

        var byId = orders.Zip(results).SelectMany(x => x.First.Zip(x.Second)).ToLookup(x => x.First, x => x.Second);
        foreach (var id in ids)
        {
            Assert.Single(byId[id], w => w.Created);
            Assert.Single(byId[id].Select(w => w.JobId).Distinct());
            Assert.Equal(1, await db.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = $1", id));
        }
    }

    [Fact]
    public async Task A_bulk_copy_with_a_stored_request_id_writes_nothing()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var writer = new JobWriter(db.DataSource);
        var stored = TestJobs.Scored(TestJobs.NewRequestId());
        await writer.WriteAsync(stored, CancellationToken.None);
        var fresh = TestJobs.Scored(TestJobs.NewRequestId());

        await Assert.ThrowsAsync<PostgresException>(() => writer.BulkCopyAsync([fresh, stored], CancellationToken.None));

        Assert.Null(await new JobReader(db.DataSource).GetJobAsync(fresh.RequestId, CancellationToken.None));
    }
}
