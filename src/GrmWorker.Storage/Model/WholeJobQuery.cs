using Microsoft.EntityFrameworkCore;

namespace GrmWorker.Storage.Model;

internal static class WholeJobQuery
{
    /// <summary>A job with every row it owns (responses, rewards of every strategy, samples and their parts), in split queries.</summary>
    public static IQueryable<JobRow> WithWholeJob(this IQueryable<JobRow> jobs) => jobs
        .Include(j => j.Responses)
        .Include(j => j.Rewards)
        .Include(j => j.Samples).ThenInclude(s => s.Principles)
        .Include(j => j.Samples).ThenInclude(s => s.Critiques)
        .Include(j => j.Samples).ThenInclude(s => s.Scores)
        .AsSplitQuery();
}
