using System.Diagnostics;
using System.Runtime;
using System.Text.Json;
using System.Text.Json.Nodes;
using GrmWorker.Storage;
using GrmWorker.Storage.Migrations;
using GrmWorker.Testing;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GrmWorker.Bench.Pipeline;

/// <summary>The bench's three phases: replayed jobs through the worker, the raw-COPY baseline, bundled-model jobs.</summary>
internal sealed partial class PipelineBenchRun
{
    /// <summary>
    /// Warm-up rounds until the JIT settles, then <see cref="PipelineSettings.Repeats"/> timed rounds of
    /// <see cref="PipelineSettings.Jobs"/> jobs through one worker; the round with the median wall time is reported (its rows
    /// counted as the difference before/after it). Each round's JIT work is kept, so a reader sees it was steady.
    /// </summary>
    public async Task<(PipelineFigures Median, int WarmUpRounds)> ReplayAsync(PipelineSettings s, CancellationToken ct)
    {
        var database = await CreateDatabaseAsync("pipeline", ct);
        var canned = CannedGrmGenerator.Load(modelDir);
        var route = $"bench.{_suffix}";
        var figures = new List<PipelineFigures>();
        var warmUpRounds = 0;
        await HostAndRunAsync(database, "replay", s, services => services.Replace(ServiceDescriptor.Singleton<IGrmGenerator>(canned)),
            async (host, results, ct2) =>
            {
                var seen = new Dictionary<string, int>(StringComparer.Ordinal);
                var expected = 0;
                async Task<PipelineFigures> RoundAsync(string kind)
                {
                    var round = CannedRequests(canned, kind, s.Jobs, route, s);
                    var before = await CountRowsAsync(database.DataSource, ct2);
                    var jitMethods = JitInfo.GetCompiledMethodCount();
                    var jitTime = JitInfo.GetCompilationTime();
                    var clock = Stopwatch.StartNew();
                    foreach (var (_, body) in round) await PublishAsync(Queue("replay"), body, ct2);
                    expected += round.Count;
                    var statuses = await results.WaitAsync(expected, TimeSpan.FromSeconds(120 + s.Jobs), ct2);
                    clock.Stop();
                    var jit = new JitFigures(JitInfo.GetCompiledMethodCount() - jitMethods, JitInfo.GetCompilationTime() - jitTime);
                    var after = await CountRowsAsync(database.DataSource, ct2);
                    var roundStatuses = statuses.Where(x => x.Value > seen.GetValueOrDefault(x.Key))
                        .ToDictionary(x => x.Key, x => x.Value - seen.GetValueOrDefault(x.Key), StringComparer.Ordinal);
                    seen = new Dictionary<string, int>(statuses, StringComparer.Ordinal);
                    return new PipelineFigures(s.Jobs, clock.Elapsed, PipelineBenchCommand.Tables.ToDictionary(t => t, t => after[t] - before[t], StringComparer.Ordinal),
                        roundStatuses, [.. round.Select(x => x.Id)]) { Jit = jit };
                }

                // Tiered JIT keeps recompiling hot code for the first ~15 s of a worker's life (MassTransit, Npgsql,
                // ours): a long-running worker never sees that, so rounds are timed only once a round compiles little.
                while (warmUpRounds < PipelineBenchCommand.MaxWarmUpRounds)
                {
                    warmUpRounds++;
                    if ((await RoundAsync($"warm{warmUpRounds}")).Jit.Methods < PipelineBenchCommand.SettledJitMethods) break;
                }
                for (var r = 0; r < s.Repeats; r++) figures.Add(await RoundAsync($"r{r}"));
                return (TimeSpan.Zero, (IReadOnlyDictionary<string, int>)seen);
            }, route, ct);
        var median = figures.OrderBy(f => f.Wall).ElementAt(figures.Count / 2);
        return (median with { AllWalls = [.. figures.Select(f => f.Wall)], AllJit = [.. figures.Select(f => f.Jit)] }, warmUpRounds);
    }

    /// <summary>Request bodies for replayed jobs, their GRM texts registered with <paramref name="replay"/>.</summary>
    private List<(string Id, string Body)> CannedRequests(CannedGrmGenerator canned, string kind, int count, string route, PipelineSettings s)
    {
        var requests = new List<(string, string)>(count);
        for (var i = 0; i < count; i++)
        {
            var id = $"bench-{_suffix}-{kind}-{i:D6}";
            var job = _replayedJobs++; // every round's jobs get their own seeds and scores
            requests.Add((id, JsonSerializer.Serialize(Request(id, route, job, s.Responses, s.Samples, PipelineBenchCommand.ReplayMaxNewTokens))));
            // Scores vary per job, sample and response (deterministic), so voting has real work and ties are rare.
            canned.AddScored(id, job, s.Responses, s.Samples, (sample, response) => 1 + ((job * 7) + (sample * 3) + (response * 5) + (job * sample)) % 10);
        }
        return requests;
    }

    /// <summary>The raw COPY baseline (<see cref="JobWriter.BulkCopyAsync"/>: one transaction, one binary COPY per table), and the same jobs through <see cref="JobWriter"/> in worker-sized batches (a third database).</summary>
    public async Task<(CopyFigures Raw, CopyFigures Batched)> RawCopyAsync(PipelineFigures pipeline, int repeats, CancellationToken ct)
    {
        // The same rows: read back what the pipeline stored, then COPY them into a fresh database.
        var source = new JobReader(_dataSources[0]);
        var jobs = new List<JobRecord>(pipeline.RequestIds.Count);
        foreach (var id in pipeline.RequestIds)
            jobs.Add((await source.GetJobAsync(id, ct) ?? throw new BenchException($"job {id} is not stored")).Job);

        var target = await CreateDatabaseAsync("rawcopy", ct);
        await new MigrationRunner(target.DataSource, Options.Create(new StorageOptions { ConnectionString = target.ConnectionString })).RunAsync(ct);
        var walls = new List<TimeSpan>();
        IReadOnlyDictionary<string, long> rawRows = new Dictionary<string, long>();
        for (var r = 0; r < repeats; r++)
        {
            if (r > 0)
            {
                await using var truncate = target.DataSource.CreateCommand("TRUNCATE scoring_jobs RESTART IDENTITY CASCADE");
                await truncate.ExecuteNonQueryAsync(ct);
            }
            var rawClock = Stopwatch.StartNew();
            await new JobWriter(target.DataSource).BulkCopyAsync(jobs, ct);
            walls.Add(rawClock.Elapsed);
            rawRows = await CountRowsAsync(target.DataSource, ct);
        }
        var raw = new CopyFigures(walls.Order().ElementAt(walls.Count / 2), rawRows) { AllWalls = walls };
        var clock = new Stopwatch();

        var batched = await CreateDatabaseAsync("jobwriter", ct);
        await new MigrationRunner(batched.DataSource, Options.Create(new StorageOptions { ConnectionString = batched.ConnectionString })).RunAsync(ct);
        var writer = new JobWriter(batched.DataSource);
        clock.Start();
        foreach (var batch in jobs.Chunk(new WorkerOptions().BatchMessageLimit)) await writer.WriteBatchAsync(batch, ct);
        clock.Stop();
        return (raw, new CopyFigures(clock.Elapsed, await CountRowsAsync(batched.DataSource, ct)));
    }

    public async Task<ModelFigures> ModelJobsAsync(PipelineSettings s, CancellationToken ct)
    {
        var database = (_dataSources[0], ConnectionStringOf(0));
        var route = $"bench.{_suffix}.model";
        var walls = new List<double>();
        var generation = new List<double>();
        var statuses = new Dictionary<string, int>(StringComparer.Ordinal);
        string modelId = "";
        IReadOnlyDictionary<string, int> warmUp = new Dictionary<string, int>();
        // Samples 0: the worker's own stopping settings, as a bundled-model job gets them.
        await HostAndRunAsync(database, "model", s with { Samples = 0, Concurrency = 0 }, _ => { }, async (host, results, ct2) =>
        {
            var metrics = host.Services.GetRequiredService<WorkerMetrics>();
            modelId = host.Services.GetRequiredService<IGrmGenerator>().ModelId;
            for (var i = -1; i < s.ModelJobs; i++)
            {
                var id = $"bench-{_suffix}-model-{i + 1:D3}";
                var body = ModelJobRequest(id, route, i + 1);
                var before = metrics.GenerationTime;
                var clock = Stopwatch.StartNew();
                await PublishAsync(Queue("model"), body, ct2);
                var got = await results.WaitAsync(i + 2, TimeSpan.FromMinutes(2), ct2);
                clock.Stop();
                if (i < 0)
                {
                    // Warm-up (first ONNX Runtime run, first connections): not timed, its status not counted.
                    warmUp = got;
                    continue;
                }
                walls.Add(clock.Elapsed.TotalMilliseconds);
                generation.Add((metrics.GenerationTime - before).TotalMilliseconds);
            }
            foreach (var (k, v) in results.Statuses)
            {
                if (v > warmUp.GetValueOrDefault(k)) statuses[k] = v - warmUp.GetValueOrDefault(k);
            }
            return (TimeSpan.Zero, (IReadOnlyDictionary<string, int>)statuses);
        }, route, ct, batchMessageLimit: 1);
        await using var means = database.Item1.CreateCommand(
            "SELECT avg(samples_used)::float8, avg(generated_tokens)::float8 FROM scoring_jobs WHERE request_id LIKE $1 AND request_id <> $2");
        means.Parameters.Add(new NpgsqlParameter<string> { TypedValue = $"bench-{_suffix}-model-%" });
        means.Parameters.Add(new NpgsqlParameter<string> { TypedValue = $"bench-{_suffix}-model-000" });
        await using var reader = await means.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new ModelFigures(modelId, s.ModelJobs, walls.Average(), generation.Average(), statuses, reader.GetDouble(0), reader.GetDouble(1));
    }

    /// <summary>
    /// A job from the bundled model's own task (line <paramref name="line"/> of its heldout.jsonl), so the model writes
    /// what it was trained to write, with the worker's default k, stopping and token limits.
    /// </summary>
    private string ModelJobRequest(string id, string route, int line)
    {
        var heldout = Path.Combine(modelDir, "heldout.jsonl");
        if (!File.Exists(heldout)) throw new BenchException($"{heldout} is missing (models/train_grm.py writes it with the model)");
        var item = JsonNode.Parse(File.ReadLines(heldout).Skip(line).First())!.AsObject();
        return JsonSerializer.Serialize(new
        {
            requestId = id,
            route,
            query = (string?)item["query"],
            responses = item["responses"]!.AsArray().Select(r => (string?)r).ToArray(),
            seed = line,
        });
    }

    private static object Request(string id, string route, int seed, int responses, int samples, int maxNewTokens) => new
    {
        requestId = id,
        route,
        query = $"A train leaves at 09:40 and arrives at 13:05 the same day. How long is the journey, and what is the average speed if the distance is 287 km? (case {seed})",
        responses = Enumerable.Range(0, responses).Select(r =>
            $"Answer {r + 1}: The journey takes 3 hours 25 minutes, which is {3 + 25 / 60.0:F3} hours. Dividing 287 km by that gives about {287 / (3 + 25 / 60.0) + r:F1} km/h. " +
            "I converted the minutes to a fraction of an hour first, then divided distance by time, and rounded to one decimal.").ToArray(),
        kMax = samples,
        kMin = samples,
        stopping = "none",
        maxNewTokens,
        seed,
        metadata = new { bench = "pipeline", n = seed },
    };
}
