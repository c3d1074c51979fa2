using GrmWorker.Storage.Model;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace GrmWorker.Storage;

/// <summary>
/// Stored jobs by <see cref="JobFilter"/>: job rows for listings (newest first, no child rows), and for replay the
/// matching job rows a page at a time (oldest first, by id) and whole jobs for a page of ids, one query per table.
/// </summary>
public sealed class JobQuery(NpgsqlDataSource dataSource)
{
    private readonly DbContextOptions<GrmDbContext> _contextOptions = GrmDbContext.CreateOptions(dataSource);

    /// <summary>The newest <paramref name="limit"/> jobs matching <paramref name="filter"/>, without their child rows.</summary>
    public async Task<IReadOnlyList<JobRow>> ListAsync(JobFilter filter, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var db = new GrmDbContext(_contextOptions);
        return await Where(db.Jobs, filter)
            .OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id)
            .Take(limit)
            .ToListAsync(cancellationToken);
    }

    /// <summary>
    /// Up to <paramref name="pageSize"/> matching job rows (no child rows) with an id above <paramref name="afterId"/>,
    /// ascending: a long replay pages through them without skipping or repeating a job.
    /// </summary>
    public async Task<IReadOnlyList<JobRow>> PageAsync(JobFilter filter, long afterId, int pageSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pageSize);
        await using var db = new GrmDbContext(_contextOptions);
        return await Where(db.Jobs, filter)
            .Where(j => j.Id > afterId)
            .OrderBy(j => j.Id)
            .Take(pageSize)
            .ToListAsync(cancellationToken);
    }

    /// <summary>How many stored jobs match <paramref name="filter"/>.</summary>
    public async Task<int> CountAsync(JobFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        await using var db = new GrmDbContext(_contextOptions);
        return await Where(db.Jobs, filter).CountAsync(cancellationToken);
    }

    /// <summary>The requestIds among <paramref name="requestIds"/> that are stored.</summary>
    public async Task<IReadOnlySet<string>> ExistingRequestIdsAsync(IReadOnlyCollection<string> requestIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        await using var db = new GrmDbContext(_contextOptions);
        var ids = requestIds.ToArray();
        var found = await db.Jobs.Where(j => ids.Contains(j.RequestId)).Select(j => j.RequestId).ToListAsync(cancellationToken);
        return found.ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The whole jobs (every row, rewards of every strategy) with these ids, in ascending id order.</summary>
    public async Task<IReadOnlyList<StoredJob>> LoadAsync(IReadOnlyCollection<long> jobIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobIds);
        if (jobIds.Count == 0) return [];
        var ids = jobIds.ToArray();
        await using var db = new GrmDbContext(_contextOptions);
        var rows = await db.Jobs
            .Where(j => ids.Contains(j.Id))
            .WithWholeJob()
            .OrderBy(j => j.Id)
            .ToListAsync(cancellationToken);
        return [.. rows.Select(r => new StoredJob(r.Id, r.CreatedAt, JobReader.ToRecord(r)))];
    }

    private static IQueryable<JobRow> Where(IQueryable<JobRow> jobs, JobFilter filter)
    {
        if (filter.RequestIds is { } requestIds)
        {
            var ids = requestIds.ToArray();
            jobs = jobs.Where(j => ids.Contains(j.RequestId));
        }
        if (filter.Route is { } route) jobs = jobs.Where(j => j.Route == route);
        if (filter.Status is { } status) jobs = jobs.Where(j => j.Status == status);
        if (filter.Since is { } since)
        {
            var from = since.ToUniversalTime();
            jobs = jobs.Where(j => j.CreatedAt >= from);
        }
        if (filter.Until is { } until)
        {
            var to = until.ToUniversalTime();
            jobs = jobs.Where(j => j.CreatedAt < to);
        }
        return jobs;
    }
}
