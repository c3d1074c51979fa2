using System.Text.Json;
using Npgsql;

namespace GrmWorker.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class JobWriterTests(PostgresFixture fixture)
{
    private static readonly string[] ChildTables = ["job_responses", "grm_samples", "principles", "critiques", "scores", "rewards"];

    [Fact]
    public async Task A_job_is_written_whole_and_reads_back_equal()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var job = TestJobs.Scored(TestJobs.NewRequestId(), responses: 3, samples: 4);

        var written = await new JobWriter(db.DataSource).WriteAsync(job, CancellationToken.None);

        Assert.True(written.Created);
        var counts = await CountsAsync(db, written.JobId);
        Assert.Equal(1, counts["scoring_jobs"]);
        Assert.Equal(3, counts["job_responses"]);
        Assert.Equal(4, counts["grm_samples"]);
        Assert.Equal(job.Samples.Sum(s => s.Principles.Count), counts["principles"]);
        Assert.Equal(12, counts["critiques"]);
        Assert.Equal(9, counts["scores"]);
        Assert.Equal(3, counts["rewards"]);
        var stored = await new JobReader(db.DataSource).GetJobAsync(job.RequestId, CancellationToken.None);
        Assert.NotNull(stored);
        Assert.Equal(written.JobId, stored.JobId);
        AssertSameJob(job, stored.Job);
    }

    [Fact]
    public async Task A_rejected_job_without_samples_is_written()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var job = TestJobs.Rejected(TestJobs.NewRequestId());

        var written = await new JobWriter(db.DataSource).WriteAsync(job, CancellationToken.None);

        var stored = await new JobReader(db.DataSource).GetJobAsync(job.RequestId, CancellationToken.None);
        Assert.True(written.Created);
        AssertSameJob(job, stored!.Job);
    }

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
    public async Task Unknown_request_ids_have_no_stored_result()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var reader = new JobReader(db.DataSource);

        Assert.Null(await reader.TryGetStoredResultAsync(TestJobs.NewRequestId(), CancellationToken.None));
        Assert.Null(await reader.GetJobAsync(TestJobs.NewRequestId(), CancellationToken.None));
    }

    [Fact]
    public async Task Hostile_and_unicode_text_is_stored_verbatim()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        string[] texts =
        [
            "'); DROP TABLE scoring_jobs; --",
            "\"double\" 'single' `back` \\backslash\\ $1 $$dollar$$ %s {0}",
            "emoji 👍🏽 family 👨‍👩‍👧 flags 🇫🇷, CJK 漢字かなカナ, Arabic مرحبا بالعالم, combining e\u0301, zero-width\u200bspace",
            "lines\r\nwith\ttabs\nand trailing spaces   ",
            "",
        ];
        var requestId = "id with 'quotes\", ünïcödé and ); DROP TABLE rewards; -- " + Guid.NewGuid();
        var baseJob = TestJobs.Scored(requestId, responses: texts.Length, samples: 2);
        var job = baseJob with
        {
            Route = "route.'quoted'.🚀",
            ErrorMessage = null,
            Responses = texts,
            RequestJson = JsonSerializer.Serialize(new { requestId, responses = texts }),
            ResultJson = JsonSerializer.Serialize(new { requestId, status = "scored", note = texts[0] + texts[2] }),
            Samples = [.. baseJob.Samples.Select(s => s with
            {
                RawText = string.Concat(texts),
                ParseReason = texts[1],
                Principles = [.. texts.Select((t, i) => new PrincipleRecord(i, t, null))],
                Critiques = [.. texts.Select((t, i) => new CritiqueRecord(i, t))],
            })],
        };

        await new JobWriter(db.DataSource).WriteAsync(job, CancellationToken.None);

        var stored = await new JobReader(db.DataSource).GetJobAsync(requestId, CancellationToken.None);
        AssertSameJob(job, stored!.Job);
        Assert.NotNull(await db.ScalarAsync<string>("SELECT to_regclass('scoring_jobs')::text"));
        Assert.NotNull(await db.ScalarAsync<string>("SELECT to_regclass('rewards')::text"));
    }

    [Fact]
    public async Task Text_with_a_NUL_character_is_refused_before_anything_is_written()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var job = TestJobs.Scored(TestJobs.NewRequestId()) with { Responses = ["fine", "bad\0byte", "fine"] };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => new JobWriter(db.DataSource).WriteAsync(job, CancellationToken.None));

        Assert.Contains("Responses[1]", error.Message);
        Assert.Null(await new JobReader(db.DataSource).TryGetStoredResultAsync(job.RequestId, CancellationToken.None));
    }

    [Theory]
    [InlineData("scoring_jobs")]
    [InlineData("grm_samples")]
    [InlineData("principles")]
    [InlineData("scores")]
    public async Task A_write_cancelled_midway_leaves_nothing_half_written(string cancelAfter)
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var job = TestJobs.Scored(TestJobs.NewRequestId());
        var totalsBefore = await TotalsAsync(db);
        using var cts = new CancellationTokenSource();
        var writer = new JobWriter(db.DataSource)
        {
            AfterTable = (table, _) =>
            {
                if (table == cancelAfter) cts.Cancel();
                return Task.CompletedTask;
            },
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writer.WriteAsync(job, cts.Token));

        Assert.Equal(totalsBefore, await TotalsAsync(db));
        Assert.Null(await new JobReader(db.DataSource).TryGetStoredResultAsync(job.RequestId, CancellationToken.None));
        var retry = await new JobWriter(db.DataSource).WriteAsync(job, CancellationToken.None);
        Assert.True(retry.Created);
    }

    [Fact]
    public async Task A_write_cancelled_before_it_starts_writes_nothing()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var job = TestJobs.Scored(TestJobs.NewRequestId());

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new JobWriter(db.DataSource).WriteAsync(job, new CancellationToken(canceled: true)));

        Assert.Null(await new JobReader(db.DataSource).TryGetStoredResultAsync(job.RequestId, CancellationToken.None));
    }

    [Fact]
    public async Task A_row_the_schema_refuses_rolls_back_the_whole_job()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var job = TestJobs.Scored(TestJobs.NewRequestId());
        job = job with { Samples = [.. job.Samples.Select((s, i) => i == 1 ? s with { Scores = [new ScoreRecord(0, 11)] } : s)] };
        var totalsBefore = await TotalsAsync(db);

        var error = await Assert.ThrowsAsync<PostgresException>(() => new JobWriter(db.DataSource).WriteAsync(job, CancellationToken.None));

        Assert.Equal(PostgresErrorCodes.CheckViolation, error.SqlState);
        Assert.Equal(totalsBefore, await TotalsAsync(db));
    }

    [Fact]
    public async Task A_batch_is_written_whole_with_every_row_of_every_job()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        JobRecord[] jobs =
        [
            TestJobs.Scored(TestJobs.NewRequestId(), responses: 3, samples: 4),
            TestJobs.Rejected(TestJobs.NewRequestId()),
            TestJobs.Scored(TestJobs.NewRequestId(), responses: 2, samples: 6),
        ];

        var written = await new JobWriter(db.DataSource).WriteBatchAsync(jobs, CancellationToken.None);

        Assert.Equal(jobs.Length, written.Count);
        Assert.All(written, w => Assert.True(w.Created));
        Assert.Equal(jobs.Length, written.Select(w => w.JobId).Distinct().Count());
        var reader = new JobReader(db.DataSource);
        for (var i = 0; i < jobs.Length; i++)
        {
            var stored = await reader.GetJobAsync(jobs[i].RequestId, CancellationToken.None);
            Assert.Equal(written[i].JobId, stored!.JobId);
            AssertSameJob(jobs[i], stored.Job);
            AssertJsonEqual(jobs[i].ResultJson, written[i].ResultJson);
        }
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

    [Theory]
    [InlineData("scoring_jobs")]
    [InlineData("grm_samples")]
    [InlineData("rewards")]
    public async Task A_batch_cancelled_midway_leaves_nothing_written(string cancelAfter)
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        JobRecord[] jobs = [TestJobs.Scored(TestJobs.NewRequestId()), TestJobs.Scored(TestJobs.NewRequestId()), TestJobs.Rejected(TestJobs.NewRequestId())];
        var totalsBefore = await TotalsAsync(db);
        using var cts = new CancellationTokenSource();
        var writer = new JobWriter(db.DataSource)
        {
            AfterTable = (table, _) =>
            {
                if (table == cancelAfter) cts.Cancel();
                return Task.CompletedTask;
            },
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writer.WriteBatchAsync(jobs, cts.Token));

        Assert.Equal(totalsBefore, await TotalsAsync(db));
        Assert.Empty(await new JobReader(db.DataSource).GetStoredResultsAsync([.. jobs.Select(j => j.RequestId)], CancellationToken.None));
        var retry = await new JobWriter(db.DataSource).WriteBatchAsync(jobs, CancellationToken.None);
        Assert.All(retry, w => Assert.True(w.Created));
    }

    [Fact]
    public async Task A_batch_with_one_row_the_schema_refuses_writes_no_job_of_the_batch()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var bad = TestJobs.Scored(TestJobs.NewRequestId());
        bad = bad with { Samples = [.. bad.Samples.Select((s, i) => i == 1 ? s with { Scores = [new ScoreRecord(0, 11)] } : s)] };
        JobRecord[] jobs = [TestJobs.Scored(TestJobs.NewRequestId()), bad];
        var totalsBefore = await TotalsAsync(db);

        var error = await Assert.ThrowsAsync<PostgresException>(() => new JobWriter(db.DataSource).WriteBatchAsync(jobs, CancellationToken.None));

        Assert.Equal(PostgresErrorCodes.CheckViolation, error.SqlState);
        Assert.Equal(totalsBefore, await TotalsAsync(db));
    }

    [Fact]
    public async Task Rewards_of_a_new_strategy_are_added_and_old_ones_kept()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var job = TestJobs.Scored(TestJobs.NewRequestId());
        var writer = new JobWriter(db.DataSource);
        var written = await writer.WriteAsync(job, CancellationToken.None);
        RewardRecord[] metaRm = [new("meta-rm:k2", 0, 8, 16), new("meta-rm:k2", 1, 2.5, 5), new("meta-rm:k2", 2, 9.75, null)];

        Assert.True(await writer.AddRewardsAsync(written.JobId, metaRm, CancellationToken.None));
        Assert.False(await writer.AddRewardsAsync(written.JobId, [new("meta-rm:k2", 0, 1, 1)], CancellationToken.None));

        var stored = await new JobReader(db.DataSource).GetJobAsync(job.RequestId, CancellationToken.None);
        Assert.Equal([.. job.Rewards, .. metaRm], stored!.Job.Rewards);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => writer.AddRewardsAsync(-1, metaRm, CancellationToken.None));
    }

    [Fact]
    public async Task Jobs_are_listed_newest_first_and_filtered_by_status()
    {
        await using var db = await fixture.CreateDatabaseAsync();
        await db.Runner().RunAsync(CancellationToken.None);
        var writer = new JobWriter(db.DataSource);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var id = TestJobs.NewRequestId($"list{i}");
            ids.Add(id);
            await writer.WriteAsync(i == 1 ? TestJobs.Rejected(id) : TestJobs.Scored(id, samples: 1), CancellationToken.None);
        }
        var reader = new JobReader(db.DataSource);

        var all = await reader.ListJobsAsync(10, null, CancellationToken.None);
        var rejected = await reader.ListJobsAsync(10, "rejected", CancellationToken.None);

        Assert.Equal([ids[2], ids[1], ids[0]], all.Select(j => j.RequestId));
        Assert.Equal([ids[1]], rejected.Select(j => j.RequestId));
    }

    [Fact]
    public async Task A_bulk_copy_stores_every_job_as_the_writer_would_and_ids_stay_unique_after_it()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var jobs = new[] { TestJobs.Scored(TestJobs.NewRequestId(), responses: 3, samples: 4), TestJobs.Rejected(TestJobs.NewRequestId()) };
        var writer = new JobWriter(db.DataSource);

        await writer.BulkCopyAsync(jobs, CancellationToken.None);
        var later = await writer.WriteAsync(TestJobs.Scored(TestJobs.NewRequestId()), CancellationToken.None);

        var reader = new JobReader(db.DataSource);
        foreach (var job in jobs)
        {
            var stored = await reader.GetJobAsync(job.RequestId, CancellationToken.None);
            Assert.NotNull(stored);
            AssertSameJob(job, stored.Job);
            Assert.True(stored.JobId < later.JobId);
        }
        var first = await reader.GetJobAsync(jobs[0].RequestId, CancellationToken.None);
        var counts = await CountsAsync(db, first!.JobId);
        Assert.Equal(4, counts["grm_samples"]);
        Assert.Equal(12, counts["critiques"]);
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

    private static void AssertSameJob(JobRecord expected, JobRecord actual)
    {
        if (expected.RequestJson is null) Assert.Null(actual.RequestJson);
        else AssertJsonEqual(expected.RequestJson, actual.RequestJson!);
        AssertJsonEqual(expected.ResultJson, actual.ResultJson);
        // Everything else must match exactly; JSON columns are jsonb (normalised), compared above.
        var options = new JsonSerializerOptions { WriteIndented = true };
        Assert.Equal(
            JsonSerializer.Serialize(expected with { RequestJson = null, ResultJson = "" }, options),
            JsonSerializer.Serialize(actual with { RequestJson = null, ResultJson = "" }, options));
    }

    private static void AssertJsonEqual(string expected, string actual)
    {
        using var e = JsonDocument.Parse(expected);
        using var a = JsonDocument.Parse(actual);
        Assert.True(JsonElement.DeepEquals(e.RootElement, a.RootElement), $"JSON differs:\n{expected}\n{actual}");
    }

    private static async Task<Dictionary<string, long>> CountsAsync(TestDatabase db, long jobId)
    {
        var counts = new Dictionary<string, long>
        {
            ["scoring_jobs"] = await db.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE id = $1", jobId),
        };
        foreach (var table in ChildTables)
            counts[table] = await db.ScalarAsync<long>($"SELECT count(*) FROM {table} WHERE job_id = $1", jobId);
        return counts;
    }

    private static async Task<Dictionary<string, long>> TotalsAsync(TestDatabase db)
    {
        var totals = new Dictionary<string, long>();
        foreach (var table in ChildTables.Prepend("scoring_jobs"))
            totals[table] = await db.ScalarAsync<long>($"SELECT count(*) FROM {table}");
        return totals;
    }
}
