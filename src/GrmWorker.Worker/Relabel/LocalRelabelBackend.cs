using System.Text.Json;
using System.Threading.Channels;
using GrmWorker.Contracts;
using GrmWorker.Storage;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Messaging;
using GrmWorker.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GrmWorker.Worker.Relabel;

/// <summary>
/// Scores in process through the worker's own <see cref="ScoringPipeline"/>, in batches of <c>batchSize</c> jobs (one
/// batched generation per round, as in the worker). With storage, it keeps the worker's promise: a requestId already
/// stored is not scored again (its stored result is used), and new jobs are claimed, scored and written through the
/// worker's <see cref="JobService"/> before they count as done. Without storage (<c>--no-store</c>) nothing is looked up or kept.
/// </summary>
internal sealed class LocalRelabelBackend : IRelabelBackend
{
    private readonly ServiceProvider _services;
    private readonly ScoringPipeline _pipeline;
    private readonly JobService? _jobs;
    private readonly TimeProvider _time;
    private readonly int _batchSize;
    private readonly ChannelWriter<JobCompletion> _completions;
    private readonly List<RelabelJob> _batch = [];

    private LocalRelabelBackend(ServiceProvider services, bool store, ChannelWriter<JobCompletion> completions)
    {
        _services = services;
        _jobs = store ? services.GetRequiredService<JobService>() : null;
        _time = services.GetRequiredService<TimeProvider>();
        _batchSize = services.GetRequiredService<IOptions<WorkerOptions>>().Value.BatchMessageLimit;
        _completions = completions;
        // Loads the model: a bad model directory fails here, before any line is sent.
        _pipeline = services.GetRequiredService<ScoringPipeline>();
    }

    /// <summary>
    /// Takes <paramref name="services"/> (built with AddGrmScoring, and AddGrmStorage when <paramref name="store"/>) and
    /// disposes it with itself. With storage, checks the database answers before the model loads.
    /// </summary>
    public static async Task<LocalRelabelBackend> CreateAsync(ServiceProvider services, bool store, ChannelWriter<JobCompletion> completions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        try
        {
            if (store) await services.GetRequiredService<JobReader>().TryGetStoredResultAsync("", cancellationToken);
            return new LocalRelabelBackend(services, store, completions);
        }
        catch
        {
            await services.DisposeAsync();
            throw;
        }
    }

    public async ValueTask SubmitAsync(RelabelJob job, CancellationToken cancellationToken)
    {
        _batch.Add(job);
        if (_batch.Count >= _batchSize) await RunBatchAsync(cancellationToken);
    }

    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        if (_batch.Count > 0) await RunBatchAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    private async Task RunBatchAsync(CancellationToken cancellationToken)
    {
        var jobs = _batch.ToArray();
        _batch.Clear();
        var received = _time.GetUtcNow();
        var requests = jobs.Select(j => new IncomingRequest(j.Request, j.Body, received)).ToList();
        var results = new Dictionary<string, ScoreResult?>(StringComparer.Ordinal);
        if (_jobs is null)
        {
            foreach (var finished in await _pipeline.RunAsync(requests, cancellationToken)) results[finished.RequestId] = finished.Result;
        }
        else
        {
            // As in the worker: a stored requestId is not scored again, one another writer stores first counts.
            foreach (var (id, outcome) in await _jobs.ScoreAndStoreAsync(requests, cancellationToken))
                results[id] = JsonSerializer.Deserialize<ScoreResult>(outcome.ResultJson, WireJson.Options);
        }

        foreach (var job in jobs)
            _completions.TryWrite(new JobCompletion(job, results[job.RequestId]));
    }
}
