using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using GrmWorker.App.Hosting;
using GrmWorker.App.Pipeline;
using GrmWorker.Inference;
using GrmWorker.Storage;
using GrmWorker.Storage.Migrations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace GrmWorker.App.Commands;

/// <summary>
/// `grm bench pipeline [--jobs N] [--responses R] [--samples K] [--model-jobs M] [--concurrency C] [--repeats R] [--json]`: what the worker costs
/// around the model, on the real local RabbitMQ and Postgres (deploy/local/services-up.sh, GRM_* settings).
/// 1. N jobs through a worker hosted in-process with a <see cref="ReplayGenerator"/> (stored GRM texts, no model):
///    publish → validation → parse/vote → one transaction of binary COPYs → result on grm.rewards; jobs/s, rows/s.
///    Untimed warm-up rounds of N jobs go first, until one round JIT-compiles fewer than 100 methods (a worker is a
///    long-running process; tiered JIT recompiles for its first ~15 s); then R timed rounds; the median is reported.
/// 2. The same rows, read back, in ONE transaction of one binary COPY per table into a second fresh database, R times
///    (truncated between): the median's rows/s; and, to show the storage share of the pipeline, the same jobs through
///    JobWriter in batches of Worker:BatchMessageLimit (one transaction each, as the worker writes) into a third.
/// 3. M bundled-model jobs (models/grm-tiny, the default model, real <see cref="GrmEngine"/>) one at a time: wall time per job from
///    publish to result vs the time inside generation rounds → the pipeline's overhead.
/// Scratch databases (grm_bench_*) and queues are made per run and dropped at the end, also on failure.
/// </summary>
internal static class PipelineBenchCommand
{
    private const string Hint = "Start the services with deploy/local/services-up.sh, then `source deploy/local/env.sh`.";
    private const int ReplayMaxNewTokens = 512;
    private const int MaxWarmUpRounds = 8;
    private const int SettledJitMethods = 100;

    private static readonly string[] Tables = ["scoring_jobs", "job_responses", "grm_samples", "principles", "critiques", "scores", "rewards"];

    public static Command Build()
    {
        var jobs = new Option<int>("--jobs") { Description = "Replayed jobs through the worker.", DefaultValueFactory = _ => 500 };
        var responses = new Option<int>("--responses") { Description = "Responses per job.", DefaultValueFactory = _ => 4 };
        var samples = new Option<int>("--samples") { Description = "Samples per job (k; stopping none, so every job draws k).", DefaultValueFactory = _ => 8 };
        var modelJobs = new Option<int>("--model-jobs") { Description = "Bundled-model jobs for the overhead figure (0: skip).", DefaultValueFactory = _ => 5 };
        var concurrency = new Option<int>("--concurrency") { Description = "Worker:ConcurrencyLimit for the replayed jobs (batches in flight; default: the worker's setting).", DefaultValueFactory = _ => 0 };
        var repeats = new Option<int>("--repeats") { Description = "Timed rounds of the pipeline and of the raw COPY; each reports its median.", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var command = new Command("pipeline", "Worker cost without the model: replayed jobs/s and rows/s vs raw binary COPY; overhead on bundled-model jobs.")
        {
            jobs, responses, samples, modelJobs, concurrency, repeats, json,
        };
        command.SetAction((ParseResult r, CancellationToken ct) => RunAsync(
            new Settings(r.GetValue(jobs), r.GetValue(responses), r.GetValue(samples), r.GetValue(modelJobs), r.GetValue(concurrency), r.GetValue(repeats)), r.GetValue(json), Console.Out, Console.Error, ct));
        return command;
    }

    private sealed record Settings(int Jobs, int Responses, int Samples, int ModelJobs, int Concurrency, int Repeats);

    private static async Task<int> RunAsync(Settings s, bool json, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (s.Jobs < 1 || s.Responses is < 1 or > 16 || s.Samples is < 1 or > 64 || s.ModelJobs < 0 || s.Concurrency < 0 || s.Repeats is < 1 or > 9)
        {
            stderr.WriteLine("grm bench pipeline: --jobs >= 1, --responses 1..16, --samples 1..64, --model-jobs >= 0, --concurrency >= 0, --repeats 1..9.");
            return 2;
        }
        var modelDir = FindBundledModel();
        if (modelDir is null)
        {
            stderr.WriteLine("grm bench pipeline: models/grm-tiny not found above the current or app directory.");
            return 2;
        }
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables(WorkerHost.EnvironmentPrefix).Build();
        var adminConnection = configuration[$"{StorageOptions.Section}:ConnectionString"];
        var rabbit = configuration.GetSection(RabbitMqOptions.Section).Get<RabbitMqOptions>() ?? new RabbitMqOptions();
        if (string.IsNullOrWhiteSpace(adminConnection) || string.IsNullOrWhiteSpace(rabbit.Username))
        {
            stderr.WriteLine($"grm bench pipeline: GRM_POSTGRES__CONNECTIONSTRING and GRM_RABBITMQ__* are not set. {Hint}");
            return 2;
        }

        var run = new BenchRun(adminConnection, rabbit, configuration, modelDir);
        try
        {
            await run.ConnectAsync(ct);
            var report = new JsonObject
            {
                ["jobs"] = s.Jobs,
                ["responses"] = s.Responses,
                ["samples"] = s.Samples,
                ["stopping"] = "none",
                ["concurrency"] = s.Concurrency == 0 ? new WorkerOptions().ConcurrencyLimit : s.Concurrency,
                ["cores"] = Environment.ProcessorCount,
                ["repeats"] = s.Repeats,
            };
            if (!json)
                stdout.WriteLine($"Pipeline bench: {s.Jobs} jobs x {s.Responses} responses x {s.Samples} samples (stopping none), concurrency {report["concurrency"]}, replayed GRM texts, RabbitMQ + Postgres on loopback, {Environment.ProcessorCount} cores; median of {s.Repeats} rounds each");

            var (pipeline, warmUpRounds) = await run.ReplayAsync(s, ct);
            report["warmUpRounds"] = warmUpRounds;
            report["pipeline"] = pipeline.ToJson();
            if (!json)
            {
                stdout.WriteLine($"  warm-up   {warmUpRounds} round(s) of {s.Jobs} jobs, until one JIT-compiled fewer than {SettledJitMethods} methods (at most {MaxWarmUpRounds}); timed rounds compiled {string.Join(" / ", pipeline.AllJit.Select(j => j.Methods))} methods");
                stdout.WriteLine($"  pipeline  {pipeline.Wall.TotalSeconds,7:F2} s  {pipeline.Jobs / pipeline.Wall.TotalSeconds,8:F1} jobs/s  {pipeline.TotalRows,8} rows  {pipeline.TotalRows / pipeline.Wall.TotalSeconds,9:F0} rows/s  (publish to last result; statuses {pipeline.StatusText}; rounds {Walls(pipeline.AllWalls)})");
            }
            var (raw, batched) = await run.RawCopyAsync(pipeline, s.Repeats, ct);
            report["rawCopy"] = raw.ToJson();
            report["jobWriterBatched"] = batched.ToJson();
            var ratio = (pipeline.TotalRows / pipeline.Wall.TotalSeconds) / (raw.TotalRows / raw.Wall.TotalSeconds);
            var rowsMatch = Tables.All(t => pipeline.Rows[t] == raw.Rows[t] && pipeline.Rows[t] == batched.Rows[t]);
            report["rowsMatch"] = rowsMatch;
            report["ratio"] = Math.Round(ratio, 4);
            report["ratioGoal"] = 0.5;
            report["ratioGoalMet"] = ratio >= 0.5;
            if (!json)
            {
                stdout.WriteLine($"  raw COPY  {raw.Wall.TotalSeconds,7:F2} s  {"",13}  {raw.TotalRows,8} rows  {raw.TotalRows / raw.Wall.TotalSeconds,9:F0} rows/s  (one transaction, one binary COPY per table; rounds {Walls(raw.AllWalls)})");
                stdout.WriteLine($"  JobWriter {batched.Wall.TotalSeconds,7:F2} s  {pipeline.Jobs / batched.Wall.TotalSeconds,8:F1} jobs/s  {batched.TotalRows,8} rows  {batched.TotalRows / batched.Wall.TotalSeconds,9:F0} rows/s  (the same jobs, {new WorkerOptions().BatchMessageLimit} per transaction as the worker batches, no broker: the storage share)");
                stdout.WriteLine($"  rows per table: {string.Join(", ", Tables.Select(t => $"{t} {pipeline.Rows[t]}"))}{(rowsMatch ? " (same in all three databases)" : " — MISMATCH: raw COPY " + string.Join(", ", Tables.Select(t => $"{t} {raw.Rows[t]}")) + "; JobWriter " + string.Join(", ", Tables.Select(t => $"{t} {batched.Rows[t]}")))}");
                stdout.WriteLine($"  pipeline / raw COPY rows/s = {ratio:P1} (goal >= 50%: {(ratio >= 0.5 ? "met" : "NOT met")})");
            }

            if (s.ModelJobs > 0)
            {
                var model = await run.ModelJobsAsync(s, ct);
                report["modelJobs"] = model.ToJson();
                if (!json)
                {
                    stdout.WriteLine($"Bundled-model jobs: {model.Jobs} jobs from its heldout.jsonl one at a time on {model.ModelId}, worker defaults (adaptive stopping): {model.MeanSamples:F1} samples, {model.MeanGeneratedTokens:F0} generated tokens per job; after one warm-up job");
                    stdout.WriteLine($"  wall per job {model.WallMs:F1} ms (publish to result), in generation {model.GenerationMs:F1} ms, around it {model.WallMs - model.GenerationMs:F1} ms");
                    stdout.WriteLine($"  pipeline overhead = {model.OverheadPercent:F1}% of generation time (goal <= 5%: {(model.OverheadPercent <= 5 ? "met" : "NOT met")})");
                    stdout.WriteLine($"  statuses {model.StatusText}");
                    stdout.WriteLine("  (the worker ran with Worker:BatchMessageLimit 1; with the default a lone job also waits Worker:BatchTimeLimit for a batch to fill)");
                }
            }
            if (json) stdout.WriteLine(report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return rowsMatch && pipeline.AllScored ? 0 : 1;
        }
        catch (BenchException ex)
        {
            stderr.WriteLine($"grm bench pipeline: {ex.Message}");
            return 1;
        }
        finally
        {
            await run.DisposeAsync();
        }
    }

    private static string Walls(IReadOnlyList<TimeSpan> walls) => string.Join(" / ", walls.Select(w => w.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture)));

    private static string? FindBundledModel()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "models", "grm-tiny");
                if (File.Exists(Path.Combine(candidate, ModelConfig.FileName))) return candidate;
            }
        }
        return null;
    }

    private sealed class BenchException(string message, Exception? inner = null) : Exception(message, inner);

    private sealed record PipelineFigures(int Jobs, TimeSpan Wall, IReadOnlyDictionary<string, long> Rows, IReadOnlyDictionary<string, int> Statuses, IReadOnlyList<string> RequestIds)
    {
        /// <summary>Every timed round's wall time, in run order; <see cref="Wall"/> is their median.</summary>
        public IReadOnlyList<TimeSpan> AllWalls { get; init; } = [Wall];

        /// <summary>What the JIT compiled during this round (<see cref="AllJit"/>: every timed round's).</summary>
        public JitFigures Jit { get; init; } = new(0, TimeSpan.Zero);

        public IReadOnlyList<JitFigures> AllJit { get; init; } = [];

        public long TotalRows => Rows.Values.Sum();

        public bool AllScored => Statuses.Count == 1 && Statuses.ContainsKey("scored");

        public string StatusText => string.Join(", ", Statuses.OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => $"{x.Key} {x.Value}"));

        public JsonObject ToJson() => new()
        {
            ["seconds"] = Math.Round(Wall.TotalSeconds, 3),
            ["roundSeconds"] = new JsonArray([.. AllWalls.Select(w => (JsonNode?)Math.Round(w.TotalSeconds, 3))]),
            ["roundJitMethods"] = new JsonArray([.. AllJit.Select(j => (JsonNode?)j.Methods)]),
            ["jobsPerSecond"] = Math.Round(Jobs / Wall.TotalSeconds, 1),
            ["rows"] = TotalRows,
            ["rowsPerSecond"] = Math.Round(TotalRows / Wall.TotalSeconds),
            ["rowsPerTable"] = new JsonObject(Rows.Select(r => KeyValuePair.Create(r.Key, (JsonNode?)r.Value))),
            ["statuses"] = new JsonObject(Statuses.Select(r => KeyValuePair.Create(r.Key, (JsonNode?)r.Value))),
        };
    }

    private sealed record JitFigures(long Methods, TimeSpan Time);

    private sealed record CopyFigures(TimeSpan Wall, IReadOnlyDictionary<string, long> Rows)
    {
        public IReadOnlyList<TimeSpan> AllWalls { get; init; } = [Wall];

        public long TotalRows => Rows.Values.Sum();

        public JsonObject ToJson() => new()
        {
            ["seconds"] = Math.Round(Wall.TotalSeconds, 3),
            ["roundSeconds"] = new JsonArray([.. AllWalls.Select(w => (JsonNode?)Math.Round(w.TotalSeconds, 3))]),
            ["rows"] = TotalRows,
            ["rowsPerSecond"] = Math.Round(TotalRows / Wall.TotalSeconds),
        };
    }

    private sealed record ModelFigures(string ModelId, int Jobs, double WallMs, double GenerationMs, IReadOnlyDictionary<string, int> Statuses,
        double MeanSamples, double MeanGeneratedTokens)
    {
        public double OverheadPercent => (WallMs - GenerationMs) / GenerationMs * 100;

        public string StatusText => string.Join(", ", Statuses.OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => $"{x.Key} {x.Value}"));

        public JsonObject ToJson() => new()
        {
            ["modelId"] = ModelId,
            ["jobs"] = Jobs,
            ["settings"] = "worker defaults (adaptive stopping, Stopping:KMax, Worker:DefaultMaxNewTokens)",
            ["meanSamplesPerJob"] = Math.Round(MeanSamples, 2),
            ["meanGeneratedTokensPerJob"] = Math.Round(MeanGeneratedTokens, 1),
            ["wallMsPerJob"] = Math.Round(WallMs, 2),
            ["generationMsPerJob"] = Math.Round(GenerationMs, 2),
            ["overheadPercent"] = Math.Round(OverheadPercent, 2),
            ["overheadGoalPercent"] = 5,
            ["overheadGoalMet"] = OverheadPercent <= 5,
            ["statuses"] = new JsonObject(Statuses.Select(r => KeyValuePair.Create(r.Key, (JsonNode?)r.Value))),
        };
    }

    /// <summary>One run's scratch state: databases, queues, the AMQP connection; all of it removed on dispose.</summary>
    private sealed class BenchRun(string adminConnection, RabbitMqOptions rabbit, IConfiguration environment, string modelDir) : IAsyncDisposable
    {
        private readonly string _suffix = string.Create(CultureInfo.InvariantCulture,
            $"{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
        private readonly List<string> _databases = [];
        private readonly List<string> _queues = [];
        private readonly List<NpgsqlDataSource> _dataSources = [];
        private int _replayedJobs;
        private IConnection? _connection;
        private IChannel? _channel;

        public async Task ConnectAsync(CancellationToken ct)
        {
            try
            {
                await using var admin = new NpgsqlConnection(adminConnection);
                await admin.OpenAsync(ct);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException or ArgumentException)
            {
                throw new BenchException($"Postgres is not reachable at {StorageDataSource.Describe(adminConnection)}: {ex.Message}. {Hint}", ex);
            }
            var factory = Messaging.RabbitMqConnections.Factory(rabbit, "grm-bench-pipeline");
            factory.AutomaticRecoveryEnabled = false;
            try
            {
                _connection = await factory.CreateConnectionAsync(ct);
            }
            catch (BrokerUnreachableException ex)
            {
                throw new BenchException($"RabbitMQ is not reachable at {rabbit.Host}:{rabbit.Port} vhost '{rabbit.VirtualHost}': {ex.InnerException?.Message ?? ex.Message}. {Hint}", ex);
            }
            _channel = await _connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), ct);
            await _channel.ExchangeDeclareAsync(rabbit.ResultExchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: ct);
        }

        /// <summary>
        /// Warm-up rounds until the JIT settles, then <see cref="Settings.Repeats"/> timed rounds of
        /// <see cref="Settings.Jobs"/> jobs through one worker; the round with the median wall time is reported (its rows
        /// counted as the difference before/after it). Each round's JIT work is kept, so a reader sees it was steady.
        /// </summary>
        public async Task<(PipelineFigures Median, int WarmUpRounds)> ReplayAsync(Settings s, CancellationToken ct)
        {
            var database = await CreateDatabaseAsync("pipeline", ct);
            var replay = ReplayGenerator.Load(modelDir);
            var route = $"bench.{_suffix}";
            var figures = new List<PipelineFigures>();
            var warmUpRounds = 0;
            await HostAndRunAsync(database, "replay", s, services => services.Replace(ServiceDescriptor.Singleton<IGrmGenerator>(replay)),
                async (host, results, ct2) =>
                {
                    var seen = new Dictionary<string, int>(StringComparer.Ordinal);
                    var expected = 0;
                    async Task<PipelineFigures> RoundAsync(string kind)
                    {
                        var round = ReplayedRequests(replay, kind, s.Jobs, route, s);
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
                        return new PipelineFigures(s.Jobs, clock.Elapsed, Tables.ToDictionary(t => t, t => after[t] - before[t], StringComparer.Ordinal),
                            roundStatuses, [.. round.Select(x => x.Id)]) { Jit = jit };
                    }

                    // Tiered JIT keeps recompiling hot code for the first ~15 s of a worker's life (MassTransit, Npgsql,
                    // ours): a long-running worker never sees that, so rounds are timed only once a round compiles little.
                    while (warmUpRounds < MaxWarmUpRounds)
                    {
                        warmUpRounds++;
                        if ((await RoundAsync($"warm{warmUpRounds}")).Jit.Methods < SettledJitMethods) break;
                    }
                    for (var r = 0; r < s.Repeats; r++) figures.Add(await RoundAsync($"r{r}"));
                    return (TimeSpan.Zero, (IReadOnlyDictionary<string, int>)seen);
                }, route, ct);
            var median = figures.OrderBy(f => f.Wall).ElementAt(figures.Count / 2);
            return (median with { AllWalls = [.. figures.Select(f => f.Wall)], AllJit = [.. figures.Select(f => f.Jit)] }, warmUpRounds);
        }

        /// <summary>Request bodies for replayed jobs, their GRM texts registered with <paramref name="replay"/>.</summary>
        private List<(string Id, string Body)> ReplayedRequests(ReplayGenerator replay, string kind, int count, string route, Settings s)
        {
            var requests = new List<(string, string)>(count);
            for (var i = 0; i < count; i++)
            {
                var id = $"bench-{_suffix}-{kind}-{i:D6}";
                var job = _replayedJobs++; // every round's jobs get their own seeds and scores
                requests.Add((id, JsonSerializer.Serialize(Request(id, route, job, s.Responses, s.Samples, ReplayMaxNewTokens))));
                // Scores vary per job, sample and response (deterministic), so voting has real work and ties are rare.
                replay.AddScored(id, job, s.Responses, s.Samples, (sample, response) => 1 + ((job * 7) + (sample * 3) + (response * 5) + (job * sample)) % 10);
            }
            return requests;
        }

        /// <summary>The raw COPY baseline, and the same jobs through <see cref="JobWriter"/> in worker-sized batches (a third database).</summary>
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
                await RawCopy.WriteAsync(target.DataSource, jobs, ct);
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

        public async Task<ModelFigures> ModelJobsAsync(Settings s, CancellationToken ct)
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

        private string Queue(string phase) => $"grm.score.bench-{_suffix}-{phase}";

        private string ConnectionStringOf(int index) => new NpgsqlConnectionStringBuilder(adminConnection) { Database = _databases[index] }.ConnectionString;

        private async Task<(TimeSpan Wall, IReadOnlyDictionary<string, int> Statuses)> HostAndRunAsync(
            (NpgsqlDataSource DataSource, string ConnectionString) database, string phase, Settings s, Action<IServiceCollection> configure,
            Func<IHost, ResultCollector, CancellationToken, Task<(TimeSpan, IReadOnlyDictionary<string, int>)>> body, string route, CancellationToken ct,
            int? batchMessageLimit = null)
        {
            var queue = Queue(phase);
            _queues.Add(queue);
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, Args = [] });
            builder.Configuration.AddConfiguration(environment);
            var k = s.Samples.ToString(CultureInfo.InvariantCulture);
            var overrides = new Dictionary<string, string?>
            {
                ["Postgres:ConnectionString"] = database.ConnectionString,
                ["RabbitMq:ScoreQueue"] = queue,
                ["Model:Directory"] = modelDir,
                // Meta scores are model work too (and voting jobs do not need them): neither phase loads the meta-RM.
                ["Model:MetaRmDirectory"] = "none",
                ["Http:Url"] = "",
            };
            if (batchMessageLimit is { } limit) overrides["Worker:BatchMessageLimit"] = limit.ToString(CultureInfo.InvariantCulture);
            if (s.Concurrency > 0)
            {
                overrides["Worker:ConcurrencyLimit"] = s.Concurrency.ToString(CultureInfo.InvariantCulture);
                overrides["RabbitMq:Prefetch"] = Math.Max(rabbit.Prefetch, s.Concurrency * new WorkerOptions().BatchMessageLimit).ToString(CultureInfo.InvariantCulture);
            }
            if (s.Samples > 0)
            {
                // Every replayed job draws exactly k samples in one round.
                overrides["Stopping:KMax"] = k;
                overrides["Stopping:KMin"] = k;
                overrides["Stopping:RoundSize"] = k;
            }
            builder.Configuration.AddInMemoryCollection(overrides);
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Services.AddGrmWorker(builder.Configuration);
            configure(builder.Services);

            await using var results = await ResultCollector.StartAsync(_connection!, rabbit.ResultExchange, route, ct);
            using var host = builder.Build();
            await host.StartAsync(ct);
            try
            {
                var (wall, statuses) = await body(host, results, ct);
                return (wall, statuses);
            }
            finally
            {
                await host.StopAsync(CancellationToken.None);
            }
        }

        private async Task PublishAsync(string queue, string body, CancellationToken ct) =>
            await _channel!.BasicPublishAsync("", queue, mandatory: false, new BasicProperties { DeliveryMode = DeliveryModes.Persistent }, Encoding.UTF8.GetBytes(body), ct);

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

        private async Task<(NpgsqlDataSource DataSource, string ConnectionString)> CreateDatabaseAsync(string purpose, CancellationToken ct)
        {
            var name = $"grm_bench_{_suffix}_{purpose}";
            await ExecuteAdminAsync($"CREATE DATABASE {name}", ct);
            _databases.Add(name);
            var connectionString = new NpgsqlConnectionStringBuilder(adminConnection) { Database = name }.ConnectionString;
            var dataSource = NpgsqlDataSource.Create(connectionString);
            _dataSources.Add(dataSource);
            return (dataSource, connectionString);
        }

        private async Task ExecuteAdminAsync(string sql, CancellationToken ct)
        {
            await using var connection = new NpgsqlConnection(adminConnection);
            await connection.OpenAsync(ct);
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync(ct);
        }

        private static async Task<IReadOnlyDictionary<string, long>> CountRowsAsync(NpgsqlDataSource dataSource, CancellationToken ct)
        {
            var rows = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var table in Tables)
            {
                await using var command = dataSource.CreateCommand($"SELECT count(*) FROM {table}");
                rows[table] = (long)(await command.ExecuteScalarAsync(ct))!;
            }
            return rows;
        }

        public async ValueTask DisposeAsync()
        {
            // Databases first: a broker failure here must not leave them behind.
            foreach (var ds in _dataSources) await ds.DisposeAsync();
            foreach (var name in _databases)
            {
                try
                {
                    await ExecuteAdminAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", CancellationToken.None);
                }
                catch (NpgsqlException ex)
                {
                    await Console.Error.WriteLineAsync($"grm bench pipeline: could not drop scratch database {name}: {ex.Message}");
                }
            }
            if (_connection is null) return;
            foreach (var queue in _queues)
            {
                try
                {
                    await using var channel = await _connection.CreateChannelAsync();
                    await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
                    await channel.QueueDeleteAsync(queue + "_error", ifUnused: false, ifEmpty: false);
                    await channel.ExchangeDeleteAsync(queue, ifUnused: false);
                }
                catch (RabbitMQClientException ex)
                {
                    await Console.Error.WriteLineAsync($"grm bench pipeline: could not delete scratch queue {queue}: {ex.Message}");
                }
            }
            if (_channel is not null) await _channel.DisposeAsync();
            await _connection.DisposeAsync();
        }
    }

    /// <summary>A server-named queue bound to the result exchange with the run's route; counts results by status.</summary>
    private sealed class ResultCollector : IAsyncDisposable
    {
        private readonly IChannel _channel;
        private readonly ConcurrentDictionary<string, int> _statuses = new(StringComparer.Ordinal);
        private int _count;
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private ResultCollector(IChannel channel) => _channel = channel;

        public IReadOnlyDictionary<string, int> Statuses => _statuses;

        public static async Task<ResultCollector> StartAsync(IConnection connection, string exchange, string route, CancellationToken ct)
        {
            var channel = await connection.CreateChannelAsync(cancellationToken: ct);
            var queue = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true, cancellationToken: ct)).QueueName;
            await channel.QueueBindAsync(queue, exchange, route, cancellationToken: ct);
            var collector = new ResultCollector(channel);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += (_, delivery) =>
            {
                collector.Received(delivery.Body.Span);
                return Task.CompletedTask;
            };
            await channel.BasicConsumeAsync(queue, autoAck: true, consumer, ct);
            return collector;
        }

        private void Received(ReadOnlySpan<byte> body)
        {
            var status = "unreadable";
            try
            {
                var reader = new Utf8JsonReader(body);
                using var doc = JsonDocument.ParseValue(ref reader);
                if (doc.RootElement.TryGetProperty("status", out var s)) status = s.GetString() ?? "null";
            }
            catch (JsonException)
            {
                // counted as unreadable
            }
            _statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            Interlocked.Increment(ref _count);
            Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }

        /// <summary>Waits until <paramref name="count"/> results arrived in all.</summary>
        public async Task<IReadOnlyDictionary<string, int>> WaitAsync(int count, TimeSpan timeout, CancellationToken ct)
        {
            var deadline = Stopwatch.StartNew();
            while (Volatile.Read(ref _count) < count)
            {
                var changed = Volatile.Read(ref _changed).Task;
                if (Volatile.Read(ref _count) >= count) break;
                var left = timeout - deadline.Elapsed;
                if (left <= TimeSpan.Zero)
                    throw new BenchException($"only {Volatile.Read(ref _count)} of {count} results arrived within {timeout}");
                try
                {
                    await changed.WaitAsync(left, ct);
                }
                catch (TimeoutException)
                {
                    // checked at the top
                }
            }
            return new Dictionary<string, int>(_statuses, StringComparer.Ordinal);
        }

        public async ValueTask DisposeAsync() => await _channel.DisposeAsync();
    }

    /// <summary>
    /// The baseline: every job's rows in ONE transaction, one binary COPY per table (the child tables through the same
    /// <see cref="JobRowCopy"/> the worker uses), job ids assigned here: no conflict checks, no broker.
    /// </summary>
    private static class RawCopy
    {
        public static async Task WriteAsync(NpgsqlDataSource dataSource, IReadOnlyList<JobRecord> jobs, CancellationToken ct)
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var numbered = jobs.Select((j, i) => (Id: (long)i + 1, Job: j)).ToList();

            await using (var copy = await connection.BeginBinaryImportAsync(
                "COPY scoring_jobs (id, request_id, route, status, error_code, error_message, request, result, model_id, prompt_version, aggregation, " +
                "samples_used, samples_valid, stopped_early, latency_ms, prompt_tokens, generated_tokens, received_at, completed_at) FROM STDIN (FORMAT BINARY)", ct))
            {
                foreach (var (id, j) in numbered)
                {
                    await copy.StartRowAsync(ct);
                    await copy.WriteAsync(id, NpgsqlDbType.Bigint, ct);
                    await copy.WriteAsync(j.RequestId, NpgsqlDbType.Text, ct);
                    await copy.WriteAsync(j.Route, NpgsqlDbType.Text, ct);
                    await copy.WriteAsync(j.Status, NpgsqlDbType.Text, ct);
                    await TextAsync(copy, j.ErrorCode, NpgsqlDbType.Text, ct);
                    await TextAsync(copy, j.ErrorMessage, NpgsqlDbType.Text, ct);
                    await TextAsync(copy, j.RequestJson, NpgsqlDbType.Jsonb, ct);
                    await copy.WriteAsync(j.ResultJson, NpgsqlDbType.Jsonb, ct);
                    await TextAsync(copy, j.ModelId, NpgsqlDbType.Text, ct);
                    await TextAsync(copy, j.PromptVersion, NpgsqlDbType.Text, ct);
                    await TextAsync(copy, j.Aggregation, NpgsqlDbType.Text, ct);
                    await copy.WriteAsync(j.SamplesUsed, NpgsqlDbType.Integer, ct);
                    await copy.WriteAsync(j.SamplesValid, NpgsqlDbType.Integer, ct);
                    await copy.WriteAsync(j.StoppedEarly, NpgsqlDbType.Boolean, ct);
                    await copy.WriteAsync(j.LatencyMs, NpgsqlDbType.Double, ct);
                    await copy.WriteAsync(j.PromptTokens, NpgsqlDbType.Bigint, ct);
                    await copy.WriteAsync(j.GeneratedTokens, NpgsqlDbType.Bigint, ct);
                    await copy.WriteAsync(j.ReceivedAt.ToUniversalTime(), NpgsqlDbType.TimestampTz, ct);
                    await copy.WriteAsync(j.CompletedAt.ToUniversalTime(), NpgsqlDbType.TimestampTz, ct);
                }
                await copy.CompleteAsync(ct);
            }
            await JobRowCopy.CopyChildRowsAsync(connection, numbered, new int[numbered.Count], null, ct);
            await tx.CommitAsync(ct);
        }

        private static Task TextAsync(NpgsqlBinaryImporter copy, string? value, NpgsqlDbType type, CancellationToken ct) =>
            value is null ? copy.WriteNullAsync(ct) : copy.WriteAsync(value, type, ct);
    }
}
