using GrmWorker.Contracts;
using GrmWorker.Scoring.Aggregation;
using GrmWorker.Storage;
using GrmWorker.Storage.Model;
using GrmWorker.Worker.Messaging;
using GrmWorker.Worker.Pipeline;
using GrmWorker.Worker.Runs;

namespace GrmWorker.Worker.Replay;

/// <summary>
/// Replays every stored job a filter matches, a page at a time in id order: loads the scored ones whole, re-scores
/// their samples with the meta-RM when there is one, re-aggregates each (<see cref="JobReplayer"/>), adds the reward
/// rows of the strategy in one transaction per job (<see cref="JobWriter.AddRewardsAsync"/>: a job that has them
/// already keeps them and gets none twice), then publishes the page's results when asked.
/// </summary>
internal sealed class ReplayRun(
    JobQuery query,
    JobWriter writer,
    ReplayStrategy strategy,
    MetaRmOptions metaRm,
    MetaRmRescorer? rescorer,
    ResultPublisher? publisher)
{
    public const int PageSize = 100;

    private static readonly IReadOnlyDictionary<int, double> NoMetaScores = new Dictionary<int, double>();

    public async Task<IReadOnlyList<ReplayJobOutcome>> RunAsync(JobFilter filter, Action<int> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(progress);
        var outcomes = new List<ReplayJobOutcome>();
        var after = 0L;
        while (true)
        {
            var page = await query.PageAsync(filter, after, PageSize, cancellationToken);
            if (page.Count == 0) break;
            after = page[^1].Id;
            outcomes.AddRange(await ReplayPageAsync(page, cancellationToken));
            progress(page.Count);
        }
        return outcomes;
    }

    private async Task<List<ReplayJobOutcome>> ReplayPageAsync(IReadOnlyList<JobRow> page, CancellationToken cancellationToken)
    {
        // Only scored jobs have samples worth loading; the others are skipped from their job row.
        var scoredIds = page.Where(j => j.Status == ScoreStatus.Scored).Select(j => j.Id).ToList();
        var jobs = (await query.LoadAsync(scoredIds, cancellationToken)).ToDictionary(j => j.JobId);
        var rescored = rescorer is null ? null : await rescorer.ScoreAsync([.. jobs.Values], strategy.K, cancellationToken);

        var outcomes = new List<ReplayJobOutcome>(page.Count);
        var pending = new List<OutgoingResult>();
        foreach (var row in page)
        {
            if (!jobs.TryGetValue(row.Id, out var stored))
            {
                outcomes.Add(ReplayJobOutcome.Skip(row.RequestId, row.Id, row.Route,
                    $"not scored ({row.Status}{(row.ErrorCode is { } code ? ": " + code : "")})"));
                continue;
            }
            var outcome = Replay(stored, rescored);
            if (outcome.Outcome == ReplayJobOutcome.Replayed)
            {
                var written = await writer.AddRewardsAsync(stored.JobId, JobReplayer.Rows(outcome, strategy), cancellationToken);
                outcome = outcome with { Written = written };
                if (publisher is not null)
                {
                    pending.Add(new OutgoingResult(stored.Job.RequestId, RequestRules.RoutingKey(stored.Job.Route),
                        ReplayResultJson.Build(stored.Job, strategy, outcome)));
                }
            }
            outcomes.Add(outcome);
        }
        if (pending.Count > 0) await PublishAsync(pending, outcomes, cancellationToken);
        return outcomes;
    }

    private ReplayJobOutcome Replay(StoredJob stored, IReadOnlyDictionary<long, MetaRmRescorer.Rescored>? rescored)
    {
        if (rescored is null) return JobReplayer.Replay(stored, strategy, metaRm, null);
        if (!rescored.TryGetValue(stored.JobId, out var scores)) return JobReplayer.Replay(stored, strategy, metaRm, NoMetaScores);
        return scores.Problem is { } problem
            ? ReplayJobOutcome.Fail(stored, problem)
            : JobReplayer.Replay(stored, strategy, metaRm, scores.Scores);
    }

    private async Task PublishAsync(List<OutgoingResult> pending, List<ReplayJobOutcome> outcomes, CancellationToken cancellationToken)
    {
        var toSend = pending.Count;
        var results = publisher!;
        try
        {
            await results.PublishAllAsync(pending, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new RunException(ExitCodes.Unavailable,
                $"publishing to exchange '{results.Exchange}' failed after {toSend - pending.Count} of {toSend} results of this page: {ex.Message}. " +
                "Their reward rows are stored; run the same replay with --publish again to send them (no row is written twice)");
        }
        for (var i = 0; i < outcomes.Count; i++)
        {
            if (outcomes[i].Outcome == ReplayJobOutcome.Replayed) outcomes[i] = outcomes[i] with { Published = true };
        }
    }
}
