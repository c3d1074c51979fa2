using System.Threading.Channels;
using GrmWorker.Contracts;
using GrmWorker.Scoring.Stopping;
using GrmWorker.Storage;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Messaging;
using GrmWorker.Worker.Runs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace GrmWorker.Worker.Relabel;

/// <summary>
/// One `grm relabel` run. Pass 1 reads IN: parses and checks each line (bad ones go to the rejects file at once),
/// derives requestIds, and finds the lines already done (<see cref="RelabelCheckpoint"/>). Pass 2 reads IN again and
/// sends the rest to the backend; each completion is written to OUT.partial or the rejects file as it arrives. At the
/// end, also after Ctrl+C or a failure, OUT is rewritten in input order from what is done. The caller shows the
/// progress (<paramref name="progress"/>) and prints the returned summary.
/// </summary>
internal static class RelabelRun
{
    /// <param name="usingPostgres">Told the database ("host:port/db as user") once a --local run stores in it, for messages.</param>
    public static async Task<RelabelSummary> ExecuteAsync(RelabelArguments args, RunEnvironment environment, RelabelProgress progress, Action<string> usingPostgres,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(progress);
        ArgumentNullException.ThrowIfNull(usingPostgres);
        Check(args);
        var configuration = RunServices.Configuration(environment with { Settings = Overrides(args, environment.Settings) });
        var limits = configuration.GetSection(ValidationLimits.Section).Get<ValidationLimits>() ?? new ValidationLimits();
        var defaultKMax = (configuration.GetSection(StoppingOptions.Section).Get<StoppingOptions>() ?? new StoppingOptions()).KMax;
        var runKey = args.RunKey ?? Path.GetFileName(args.Input);
        var runRoute = RelabelRequestIds.Route(args.RoutePrefix, runKey);
        var rejectsPath = args.Rejects ?? RelabelRejectsFile.DefaultPathFor(args.Output);
        var live = !args.Json && ReferenceEquals(environment.Error, Console.Error) && !Console.IsErrorRedirected;
        var counters = new RelabelCounters();
        var reporter = new RelabelReporter(environment.Error, args.Input);

        await using var checkpoint = await FileStep(args.Output, () => RelabelCheckpoint.OpenAsync(args.Output, cancellationToken));
        await using var rejects = await FileStep(rejectsPath, () => Task.FromResult(RelabelRejectsFile.Create(rejectsPath)));
        var plan = await FileStep(args.Input, () => PlanAsync(args.Input, new RelabelLineParser(runKey, runRoute, limits), checkpoint, rejects, reporter, counters, cancellationToken));

        var completions = Channel.CreateUnbounded<JobCompletion>(new UnboundedChannelOptions { SingleReader = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var consumer = Task.CompletedTask;
        var interrupted = false;
        int written;
        try
        {
            if (counters.ToSend > 0)
            {
                await using var backend = await CreateBackendAsync(args, environment, configuration, usingPostgres, plan.Routes, completions.Writer, cancellationToken);
                consumer = ConsumeAsync(completions.Reader, args, checkpoint, rejects, reporter, counters, defaultKMax, stop);
                reporter.Hold = live;
                try
                {
                    await progress(counters, $"relabel {Path.GetFileName(args.Input)}", live, environment.Error, args.ProgressInterval, async () =>
                    {
                        await SendAsync(args.Input, new RelabelLineParser(runKey, runRoute, limits), plan.Skip, backend, counters, stop.Token);
                        await backend.DrainAsync(stop.Token);
                        // The last completions are written before the display shows its final figures.
                        completions.Writer.TryComplete();
                        await consumer;
                    });
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    interrupted = true;
                }
            }
        }
        finally
        {
            // Whatever ended the run, what is done goes into OUT, in input order.
            completions.Writer.TryComplete();
            await FileStep(args.Output, () => consumer);
            written = await FileStep(args.Output, () => checkpoint.WriteOutputAsync(plan.OrderedIds, CancellationToken.None));
            reporter.Finish(rejectsPath);
        }

        var exitCode = interrupted ? ExitCodes.Cancelled
            : counters.TimedOut > 0 ? ExitCodes.Unavailable
            : counters.Rejected > 0 ? ExitCodes.BadInput
            : ExitCodes.Ok;
        return RelabelSummary.From(counters, args.Input, args.Output, rejectsPath, args.Local ? "local" : "broker", written, interrupted, exitCode);
    }

    private static void Check(RelabelArguments a)
    {
        string? problem = null;
        if (!File.Exists(a.Input)) problem = $"cannot read {a.Input}: no such file";
        else if (SamePath(a.Input, a.Output)) problem = "OUT must be another file than IN";
        else if (a.Rejects is { } r && (SamePath(r, a.Input) || SamePath(r, a.Output))) problem = "--rejects must be another file than IN and OUT";
        else if (Path.GetDirectoryName(Path.GetFullPath(a.Output)) is { } dir && !Directory.Exists(dir)) problem = $"cannot write {a.Output}: no directory {dir}";
        else if (a.MaxInFlight is < 1 or > 65_535) problem = "--max-in-flight must be 1..65535";
        else if (a.Timeout <= TimeSpan.Zero) problem = "--timeout must be positive";
        else if (string.IsNullOrWhiteSpace(a.RoutePrefix) || a.RoutePrefix.Length > 150 || a.RoutePrefix.IndexOfAny(['*', '#', ' ']) >= 0)
            problem = "--route-prefix must be 1..150 characters without '*', '#' or spaces";
        else if (a.NoStore && !a.Local) problem = "--no-store needs --local: the worker always stores its jobs";
        else if (a.RunKey is { Length: 0 }) problem = "--run-key must not be empty";
        if (problem is not null) throw new RunException(ExitCodes.BadInput, problem);
    }

    private static bool SamePath(string a, string b) => string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), StringComparison.Ordinal);

    private static Dictionary<string, string?> Overrides(RelabelArguments args, IReadOnlyDictionary<string, string?> settings)
    {
        var overrides = new Dictionary<string, string?>(settings);
        if (args.Model is { Length: > 0 } model) overrides[$"{ModelOptions.Section}:Directory"] = model;
        if (args.Queue is { Length: > 0 } queue) overrides[$"{RabbitMqOptions.Section}:ScoreQueue"] = queue;
        return overrides;
    }

    /// <summary>Pass 1: ids in input order, the ids already done, the routes to listen on; bad lines to the rejects file.</summary>
    private static async Task<RelabelPlan> PlanAsync(string input, RelabelLineParser parser, RelabelCheckpoint checkpoint, RelabelRejectsFile rejects,
        RelabelReporter reporter, RelabelCounters counters, CancellationToken cancellationToken)
    {
        var plan = new RelabelPlan();
        var lineNumber = 0;
        await foreach (var text in File.ReadLinesAsync(input, cancellationToken))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            counters.LineRead();
            if (!parser.TryParse(text, lineNumber, out var job, out var reject))
            {
                counters.LineRejected();
                await rejects.WriteAsync(reject, text, cancellationToken);
                reporter.Report(reject);
                continue;
            }
            plan.OrderedIds.Add(job.RequestId);
            if (checkpoint.IsDone(job.RequestId))
            {
                plan.Skip.Add(job.RequestId);
                counters.LineSkipped();
            }
            else
            {
                plan.Routes.Add(job.Request.Route);
                counters.LineToSend();
            }
        }
        return plan;
    }

    /// <summary>Pass 2: the same lines through a fresh parser (same ids), the ones not done to the backend.</summary>
    private static async Task SendAsync(string input, RelabelLineParser parser, HashSet<string> skip, IRelabelBackend backend, RelabelCounters counters,
        CancellationToken cancellationToken)
    {
        var lineNumber = 0;
        await foreach (var text in File.ReadLinesAsync(input, cancellationToken))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(text) || !parser.TryParse(text, lineNumber, out var job, out _) || skip.Contains(job.RequestId)) continue;
            await backend.SubmitAsync(job, cancellationToken);
            counters.JobSent();
        }
    }

    private static async Task<IRelabelBackend> CreateBackendAsync(RelabelArguments args, RunEnvironment environment, IConfiguration configuration, Action<string> usingPostgres,
        IReadOnlyCollection<string> routes, ChannelWriter<JobCompletion> completions, CancellationToken cancellationToken)
    {
        if (args.Local)
        {
            var store = !args.NoStore;
            if (store) RunServices.RequirePostgres(configuration, "--no-store");
            var services = RunServices.Build(environment, configuration, s =>
            {
                s.AddGrmScoring(configuration);
                if (store)
                {
                    s.AddGrmStorage(configuration.GetSection(StorageOptions.Section));
                    s.AddJobService(configuration);
                }
            });
            if (store) usingPostgres(RunServices.DescribePostgres(configuration));
            return await LocalRelabelBackend.CreateAsync(services, store, completions, cancellationToken);
        }
        var rabbit = configuration.GetSection(RabbitMqOptions.Section).Get<RabbitMqOptions>() ?? new RabbitMqOptions();
        var problems = RabbitMqOptions.Problems(rabbit).ToList();
        if (problems.Count > 0)
        {
            throw new RunException(ExitCodes.BadInput,
                $"no usable RabbitMQ settings ({string.Join("; ", problems)}; env GRM_RABBITMQ__*, exported by `source deploy/local/env.sh`); or pass --local to score in process");
        }
        return await BrokerRelabelBackend.ConnectAsync(rabbit, routes, args.MaxInFlight, args.Timeout, TimeProvider.System, completions, cancellationToken);
    }

    /// <summary>Writes each completion where it belongs; if writing fails the run is stopped and the error comes out of the finally.</summary>
    private static async Task ConsumeAsync(ChannelReader<JobCompletion> completions, RelabelArguments args, RelabelCheckpoint checkpoint, RelabelRejectsFile rejects,
        RelabelReporter reporter, RelabelCounters counters, int defaultKMax, CancellationTokenSource stop)
    {
        try
        {
            // Not cancelled with the run: what came back is written even after Ctrl+C.
            await foreach (var completion in completions.ReadAllAsync(CancellationToken.None))
            {
                var job = completion.Job;
                if (completion.Result is not { } result)
                {
                    counters.JobTimedOut();
                    await RejectAsync(new RelabelReject(job.LineNumber, job.RequestId, ErrorCodes.Timeout,
                        $"no result within {args.Timeout} (--timeout); the next run sends it again"));
                }
                else if (result.Status == ScoreStatus.Rejected)
                {
                    counters.JobCompleted(result, job.Request.KMax ?? defaultKMax);
                    await RejectAsync(new RelabelReject(job.LineNumber, job.RequestId, result.Error?.Code ?? ScoreStatus.Rejected,
                        $"rejected by the worker: {result.Error?.Message}"));
                }
                else
                {
                    await checkpoint.AppendAsync(job.RequestId, RelabelOutputLine.Build(job.Source, job.RequestId, result), CancellationToken.None);
                    counters.JobCompleted(result, job.Request.KMax ?? defaultKMax);
                }

                async Task RejectAsync(RelabelReject reject)
                {
                    await rejects.WriteAsync(reject, job.Source.ToJsonString(), CancellationToken.None);
                    reporter.Report(reject);
                }
            }
        }
        catch
        {
            await stop.CancelAsync();
            throw;
        }
    }

    /// <summary>File errors become exit code 1 naming the file.</summary>
    private static async Task<T> FileStep<T>(string path, Func<Task<T>> step)
    {
        try
        {
            return await step();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new RunException(ex is FileNotFoundException ? ExitCodes.BadInput : ExitCodes.Failure, $"{path}: {ex.Message}");
        }
    }

    private static async Task FileStep(string path, Func<Task> step) => await FileStep(path, async () =>
    {
        await step();
        return true;
    });

    private sealed class RelabelPlan
    {
        public List<string> OrderedIds { get; } = [];

        public HashSet<string> Skip { get; } = new(StringComparer.Ordinal);

        public HashSet<string> Routes { get; } = new(StringComparer.Ordinal);
    }
}
