using Npgsql;
using static GrmWorker.Storage.Tests.WrittenRows;

namespace GrmWorker.Storage.Tests;

/// <summary>
/// A write is whole or nothing: a job or a batch cancelled (midway or before it starts), holding a row the schema
/// refuses, or holding text Postgres cannot store leaves no row behind; a cancelled one can be written again.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class JobWriterRollbackTests(PostgresFixture fixture)
{
    [Theory]
    [InlineData("scoring_jobs", 1)]
    [InlineData("grm_samples", 1)]
    [InlineData("principles", 1)]
    [InlineData("scores", 1)]
    [InlineData("scoring_jobs", 3)]
    [InlineData("grm_samples", 3)]
    [InlineData("rewards", 3)]
    public async Task A_write_cancelled_midway_leaves_nothing_half_written(string cancelAfter, int jobCount)
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        JobRecord[] jobs = [.. Jobs(jobCount)];
        var totalsBefore = await TotalsAsync(db);
        using var cts = new CancellationTokenSource();
        var writer = CancellingAfter(db, cancelAfter, cts);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => WriteAsync(writer, jobs, cts.Token));

        Assert.Equal(totalsBefore, await TotalsAsync(db));
        Assert.Empty(await new JobReader(db.DataSource).GetStoredResultsAsync([.. jobs.Select(j => j.RequestId)], CancellationToken.None));
        var retry = await WriteAsync(new JobWriter(db.DataSource), jobs, CancellationToken.None);
        Assert.All(retry, w => Assert.True(w.Created));
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

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task A_row_the_schema_refuses_writes_no_job_of_its_write(int jobCount)
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var bad = TestJobs.Scored(TestJobs.NewRequestId());
        bad = bad with { Samples = [.. bad.Samples.Select((s, i) => i == 1 ? s with { Scores = [new ScoreRecord(0, 11)] } : s)] };
        JobRecord[] jobs = [.. Jobs(jobCount - 1), bad];
        var totalsBefore = await TotalsAsync(db);

        var error = await Assert.ThrowsAsync<PostgresException>(() => WriteAsync(new JobWriter(db.DataSource), jobs, CancellationToken.None));

        Assert.Equal(PostgresErrorCodes.CheckViolation, error.SqlState);
        Assert.Equal(totalsBefore, await TotalsAsync(db));
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

    /// <summary>Scored jobs and, from the third on, a rejected one.</summary>
    private static IEnumerable<JobRecord> Jobs(int count) =>
        Enumerable.Range(0, count).Select(i => i < 2 ? TestJobs.Scored(TestJobs.NewRequestId()) : TestJobs.Rejected(TestJobs.NewRequestId()));

    /// <summary>One job through <see cref="JobWriter.WriteAsync"/>, several through <see cref="JobWriter.WriteBatchAsync"/>.</summary>
    private static async Task<IReadOnlyList<JobWriteResult>> WriteAsync(JobWriter writer, JobRecord[] jobs, CancellationToken cancellationToken) =>
        jobs.Length == 1 ? [await writer.WriteAsync(jobs[0], cancellationToken)] : await writer.WriteBatchAsync(jobs, cancellationToken);
}
