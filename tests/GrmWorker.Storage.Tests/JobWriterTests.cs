using System.Text.Json;
using static GrmWorker.Storage.Tests.WrittenRows;

namespace GrmWorker.Storage.Tests;

/// <summary>What JobWriter writes reads back equal: one job, a batch, a bulk COPY, hostile text, added rewards; what JobReader lists.</summary>
[Collection(PostgresCollection.Name)]
public sealed class JobWriterTests(PostgresFixture fixture)
{
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
    public async Task Unknown_request_ids_have_no_stored_result()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var reader = new JobReader(db.DataSource);

        Assert.Null(await reader.TryGetStoredResultAsync(TestJobs.NewRequestId(), CancellationToken.None));
        Assert.Null(await reader.GetJobAsync(TestJobs.NewRequestId(), CancellationToken.None));
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
}
