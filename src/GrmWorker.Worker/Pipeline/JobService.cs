using GrmWorker.Storage;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Messaging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrmWorker.Worker.Pipeline;

/// <summary>
/// "Look up what is stored, score the rest once across the fleet, store it": what the worker's consumer,
/// <c>relabel --local</c> and <c>grm score</c> do with a batch. A requestId already stored gets its stored result (no model run). The others
/// are claimed in Postgres (<see cref="RequestClaims"/>) before the model runs; one another worker holds a live claim
/// on is not run here but waited for until its result is stored, or until its lease runs out (that worker died) and
/// this one takes it over. Each job's rows are written in one transaction that also marks its claim done.
/// </summary>
public sealed class JobService(
    ScoringPipeline pipeline,
    JobReader reader,
    JobWriter writer,
    RequestClaims claims,
    WorkerResilience resilience,
    WorkerIdentity identity,
    IOptions<WorkerOptions> options,
    TimeProvider time,
    ILogger<JobService> logger)
{
    /// <summary>
    /// One outcome per distinct requestId of <paramref name="requests"/> (the first request of an id counts). Throws
    /// only for a failure of the whole batch (storage or broker down, cancellation); claims this call holds are then given up.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, JobOutcome>> ScoreAndStoreAsync(IReadOnlyList<IncomingRequest> requests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var pending = new Dictionary<string, IncomingRequest>(StringComparer.Ordinal);
        foreach (var request in requests) pending.TryAdd(request.Request.RequestId, request);
        var outcomes = new Dictionary<string, JobOutcome>(StringComparer.Ordinal);
        var o = options.Value;
        var waitLogged = false;
        while (true)
        {
            await TakeStoredAsync(pending, outcomes, cancellationToken);
            if (pending.Count == 0) return outcomes;
            var claimed = await resilience.Storage.ExecuteAsync(
                static (s, t) => new ValueTask<IReadOnlyDictionary<string, int>>(s.claims.TryClaimAsync(s.Keys, s.id, s.lease, t)),
                (claims, pending.Keys, id: identity.Id, lease: o.ClaimLease), cancellationToken);
            if (claimed.Count > 0)
            {
                var run = claimed.Keys.Select(id => pending[id]).ToList();
                foreach (var id in claimed.Keys) pending.Remove(id);
                await RunClaimedAsync(run, claimed, outcomes, cancellationToken);
            }
            if (pending.Count == 0) return outcomes;
            // Held by another worker: its result is stored when it finishes, or its lease runs out and one is taken here.
            if (!waitLogged)
            {
                var example = pending.Keys.First();
                WorkerLog.WaitingForClaims(logger, pending.Count, example);
                waitLogged = true;
            }
            await Task.Delay(o.ClaimPollInterval, time, cancellationToken);
        }
    }

    private async Task TakeStoredAsync(Dictionary<string, IncomingRequest> pending, Dictionary<string, JobOutcome> outcomes, CancellationToken cancellationToken)
    {
        var stored = await resilience.Storage.ExecuteAsync(
            static (s, t) => new ValueTask<IReadOnlyDictionary<string, StoredResult>>(s.reader.GetStoredResultsAsync(s.Keys, t)),
            (reader, pending.Keys), cancellationToken);
        foreach (var (id, s) in stored)
        {
            outcomes[id] = new JobOutcome(s.JobId, s.ResultJson, WasStored: true);
            pending.Remove(id);
        }
    }

    private async Task RunClaimedAsync(List<IncomingRequest> run, IReadOnlyDictionary<string, int> attempts, Dictionary<string, JobOutcome> outcomes, CancellationToken cancellationToken)
    {
        var ids = run.Select(r => r.Request.RequestId).ToArray();
        using var renewal = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var renewing = RenewWhileRunningAsync(ids, renewal.Token);
        try
        {
            var finished = await ScoreAsync(run, attempts, cancellationToken);
            // Storage's rows are made here, at the edge; Created is false when another writer stored a requestId first,
            // and its stored result is the one that counts.
            JobRecord[] records = [.. finished.Select(JobRowMapping.ToRecord)];
            var written = await resilience.Storage.ExecuteAsync(
                static (s, t) => new ValueTask<IReadOnlyList<JobWriteResult>>(s.writer.WriteBatchAsync(s.records, t)),
                (writer, records), cancellationToken);
            for (var i = 0; i < finished.Count; i++)
            {
                if (!written[i].Created) WorkerLog.Duplicate(logger, finished[i].RequestId, written[i].JobId);
                outcomes[finished[i].RequestId] = new JobOutcome(written[i].JobId, written[i].ResultJson, WasStored: !written[i].Created,
                    Scored: written[i].Created ? finished[i] : null);
            }
        }
        catch
        {
            await ReleaseAsync(ids);
            throw;
        }
        finally
        {
            await renewal.CancelAsync();
            await renewing;
        }
    }

    // A request whose earlier runs all ended with their worker gone (killed, out of memory) is not run again: it could
    // be the reason, and every run costs a worker.
    private async Task<IReadOnlyList<FinishedJob>> ScoreAsync(List<IncomingRequest> run, IReadOnlyDictionary<string, int> attempts, CancellationToken cancellationToken)
    {
        var limit = options.Value.MaxRunAttempts;
        var finished = new FinishedJob[run.Count];
        var fresh = new List<(int Slot, IncomingRequest Request)>();
        for (var i = 0; i < run.Count; i++)
        {
            var n = attempts[run[i].Request.RequestId];
            if (n <= limit)
            {
                WorkerLog.Claimed(logger, run[i].Request.RequestId, n);
                fresh.Add((i, run[i]));
            }
            else finished[i] = JobOutcomes.WorkerLost(run[i], n - 1, pipeline.ModelId, time.GetUtcNow());
        }
        var scored = await pipeline.RunAsync([.. fresh.Select(f => f.Request)], cancellationToken);
        for (var i = 0; i < fresh.Count; i++) finished[fresh[i].Slot] = scored[i];
        return finished;
    }

    private async Task RenewWhileRunningAsync(string[] ids, CancellationToken cancellationToken)
    {
        var lease = options.Value.ClaimLease;
        try
        {
            while (true)
            {
                await Task.Delay(lease / 3, time, cancellationToken);
                var held = await claims.RenewAsync(ids, identity.Id, lease, cancellationToken);
                if (held < ids.Length) WorkerLog.ClaimsLost(logger, ids.Length - held, ids.Length);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // Renewal is best effort: a worker that cannot reach Postgres cannot store its jobs either, and fails there.
            WorkerLog.ClaimRenewalFailed(logger, ex);
        }
    }

    private async Task ReleaseAsync(string[] ids)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await claims.ReleaseAsync(ids, identity.Id, timeout.Token);
        }
        catch (Exception ex)
        {
            // The lease runs out on its own; another worker then takes the requests over.
            WorkerLog.ClaimRenewalFailed(logger, ex);
        }
    }
}

/// <summary>
/// What a request ended as: its stored job and result JSON; <see cref="WasStored"/> when it was not scored by this call.
/// <see cref="Scored"/> is the job this call scored and wrote (samples included; `grm score` prints it), null when
/// the stored result is another run's.
/// </summary>
public sealed record JobOutcome(long JobId, string ResultJson, bool WasStored, FinishedJob? Scored = null);

/// <summary>This process's name in <c>request_claims.worker_id</c>: host, pid and a random part, unique across restarts.</summary>
public sealed class WorkerIdentity
{
    public string Id { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";
}
