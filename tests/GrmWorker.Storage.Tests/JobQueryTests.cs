namespace GrmWorker.Storage.Tests;

/// <summary>JobQuery on its own database: filters narrow, pages cover every match once in id order, loads are whole.</summary>
[Collection(PostgresCollection.Name)]
public sealed class JobQueryTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Filters_by_request_ids_route_status_and_stored_time_narrow_together()
    {
        await using var db = await MigratedAsync();
        var writer = new JobWriter(db.DataSource);
        var a = await Write(writer, TestJobs.Scored(TestJobs.NewRequestId("a")) with { Route = "r1" });
        var b = await Write(writer, TestJobs.Scored(TestJobs.NewRequestId("b")) with { Route = "r2" });
        var c = await Write(writer, TestJobs.Rejected(TestJobs.NewRequestId("c")) with { Route = "r1" });
        var query = new JobQuery(db.DataSource);

        Assert.Equal([c, a], Ids(await query.ListAsync(new JobFilter { Route = "r1" }, 10, CancellationToken.None)));
        Assert.Equal([a], Ids(await query.ListAsync(new JobFilter { Route = "r1", Status = "scored" }, 10, CancellationToken.None)));
        Assert.Equal([b, a], Ids(await query.ListAsync(new JobFilter { RequestIds = [a, b, "missing"] }, 10, CancellationToken.None)));
        Assert.Equal([c], Ids(await query.ListAsync(JobFilter.All, 1, CancellationToken.None)));
        var future = DateTimeOffset.UtcNow.AddMinutes(5);
        Assert.Empty(await query.ListAsync(new JobFilter { Since = future }, 10, CancellationToken.None));
        Assert.Equal(3, await query.CountAsync(new JobFilter { Until = future }, CancellationToken.None));
        Assert.Equal(0, await query.CountAsync(new JobFilter { Until = DateTimeOffset.UtcNow.AddDays(-1) }, CancellationToken.None));
        Assert.Equal(new HashSet<string> { a, c }, await query.ExistingRequestIdsAsync([a, c, "missing"], CancellationToken.None));
    }

    [Fact]
    public async Task Pages_cover_every_matching_job_once_in_id_order_and_load_whole_jobs()
    {
        await using var db = await MigratedAsync();
        var writer = new JobWriter(db.DataSource);
        var ids = new List<string>();
        for (var i = 0; i < 5; i++) ids.Add(await Write(writer, TestJobs.Scored(TestJobs.NewRequestId($"p{i}"), responses: 2, samples: 2)));
        var query = new JobQuery(db.DataSource);

        var seen = new List<string>();
        var after = 0L;
        while (await query.PageAsync(JobFilter.All, after, 2, CancellationToken.None) is { Count: > 0 } page)
        {
            Assert.True(page.Count <= 2);
            Assert.True(page[0].Id > after);
            seen.AddRange(page.Select(j => j.RequestId));
            after = page[^1].Id;
        }
        Assert.Equal(ids, seen);

        var jobIds = (await query.PageAsync(JobFilter.All, 0, 2, CancellationToken.None)).Select(j => j.Id).ToArray();
        var loaded = await query.LoadAsync(jobIds, CancellationToken.None);
        Assert.Equal(jobIds, loaded.Select(j => j.JobId));
        var expected = TestJobs.Scored(ids[0], responses: 2, samples: 2);
        Assert.Equal(expected.Samples.Count, loaded[0].Job.Samples.Count);
        Assert.Equal(expected.Samples.Sum(s => s.Principles.Count), loaded[0].Job.Samples.Sum(s => s.Principles.Count));
        Assert.Equal(expected.Samples.Sum(s => s.Scores.Count), loaded[0].Job.Samples.Sum(s => s.Scores.Count));
        Assert.Equal(expected.Rewards.Select(r => (r.Strategy, r.ResponseIndex, r.Value)), loaded[0].Job.Rewards.Select(r => (r.Strategy, r.ResponseIndex, r.Value)));
        Assert.Empty(await query.LoadAsync([], CancellationToken.None));
    }

    private async Task<TestDatabase> MigratedAsync()
    {
        var db = await fixture.CreateDatabaseAsync();
        await db.Runner().RunAsync(CancellationToken.None);
        return db;
    }

    private static async Task<string> Write(JobWriter writer, JobRecord job)
    {
        await writer.WriteAsync(job, CancellationToken.None);
        return job.RequestId;
    }

    private static string[] Ids(IEnumerable<Model.JobRow> rows) => [.. rows.Select(r => r.RequestId)];
}
