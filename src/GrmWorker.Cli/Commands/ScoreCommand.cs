using System.CommandLine;
using System.Text.Json;
using GrmWorker.Cli.Views;
using GrmWorker.Contracts;
using GrmWorker.Storage;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Pipeline;
using GrmWorker.Worker.Runs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace GrmWorker.Cli.Commands;

/// <summary>
/// `grm score --query TEXT --response TEXT ... [--k N] [--reference TEXT] [--aggregation voting|meta-rm]
/// [--stopping adaptive|none] [--seed S] [--model DIR] [--no-store] [--json]`: one job in process, through the
/// worker's own <see cref="ScoringPipeline"/> and settings (no broker), claimed and stored through the worker's
/// <see cref="JobService"/> (one transaction) unless --no-store. Prints every sample and the rewards. Exit codes:
/// 0 scored, 1 failed (e.g. no parsable sample) or a model error, 2 rejected or bad arguments, 4 Postgres unreachable
/// (docs/cli.md).
/// </summary>
internal static class ScoreCommand
{
    public const string DefaultRoute = "cli";

    public sealed record Arguments
    {
        public required string Query { get; init; }
        public required IReadOnlyList<string> Responses { get; init; }
        public int? K { get; init; }
        public string? Reference { get; init; }
        public string? Aggregation { get; init; }
        public string? Stopping { get; init; }
        public long? Seed { get; init; }
        public double? Temperature { get; init; }
        public int? MaxNewTokens { get; init; }
        public string? Model { get; init; }
        public string? RequestId { get; init; }
        public string Route { get; init; } = DefaultRoute;
        public bool NoStore { get; init; }
        public bool RawText { get; init; }
        public bool Json { get; init; }
    }

    public static Command Build()
    {
        var query = new Option<string>("--query") { Description = "The prompt the responses answer.", Required = true };
        var responses = new Option<string[]>("--response") { Description = "A candidate response; repeat for each (request order = order given).", Required = true };
        var k = new Option<int?>("--k") { Description = "Most GRM samples (kMax; default: setting Stopping:KMax)." };
        var reference = new Option<string?>("--reference") { Description = "A reference answer shown to the GRM." };
        var aggregation = new Option<string?>("--aggregation") { Description = "voting or meta-rm (default: setting Worker:DefaultAggregation)." };
        aggregation.AcceptOnlyFromAmong(AggregationKind.Voting, AggregationKind.MetaRm);
        var stopping = new Option<string?>("--stopping") { Description = "adaptive (stop once the answer is settled) or none (always k samples)." };
        stopping.AcceptOnlyFromAmong(StoppingKind.Adaptive, StoppingKind.None);
        var seed = new Option<long?>("--seed") { Description = "Makes the run reproducible (default: derived from the requestId)." };
        var temperature = new Option<double?>("--temperature") { Description = "Sampling temperature (default: setting Worker:DefaultTemperature)." };
        var maxNew = new Option<int?>("--max-new-tokens") { Description = "Most tokens per sample (default: setting Worker:DefaultMaxNewTokens)." };
        var model = new Option<string?>("--model") { Description = "GRM model directory (default: setting Model:Directory, env GRM_MODEL__DIRECTORY)." };
        var requestId = new Option<string?>("--request-id") { Description = "The job's requestId (default: cli-<random>); a stored one is never scored again." };
        var route = new Option<string>("--route") { Description = "The route stored with the job.", DefaultValueFactory = _ => DefaultRoute };
        var noStore = new Option<bool>("--no-store") { Description = "Do not store the job in Postgres (no database needed)." };
        var raw = new Option<bool>("--raw") { Description = "Also print each sample's raw generated text." };
        var json = new Option<bool>("--json") { Description = "Print the job as one JSON object (the shape of `grm jobs show --json`)." };
        var command = new Command("score", "Score responses to a query with the GRM, in process: samples, critiques and rewards.")
        {
            query, responses, k, reference, aggregation, stopping, seed, temperature, maxNew, model, requestId, route, noStore, raw, json,
        };
        command.SetAction((ParseResult r, CancellationToken ct) => RunAsync(new Arguments
        {
            Query = r.GetValue(query)!,
            Responses = r.GetValue(responses) ?? [],
            K = r.GetValue(k),
            Reference = r.GetValue(reference),
            Aggregation = r.GetValue(aggregation),
            Stopping = r.GetValue(stopping),
            Seed = r.GetValue(seed),
            Temperature = r.GetValue(temperature),
            MaxNewTokens = r.GetValue(maxNew),
            Model = r.GetValue(model),
            RequestId = r.GetValue(requestId),
            Route = r.GetValue(route) ?? DefaultRoute,
            NoStore = r.GetValue(noStore),
            RawText = r.GetValue(raw),
            Json = r.GetValue(json),
        }, RunEnvironment.Process, ct));
        return command;
    }

    /// <summary>The command's work, callable in-process.</summary>
    public static Task<int> RunAsync(Arguments args, RunEnvironment environment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        var runner = new CliRunner("score", environment) { PostgresAlternative = "pass --no-store to score without storing" };
        return runner.RunAsync(async () =>
        {
            var configuration = RunServices.Configuration(args.Model is { Length: > 0 } dir
                ? environment with { Settings = new Dictionary<string, string?>(environment.Settings) { [$"{ModelOptions.Section}:Directory"] = dir } }
                : environment);
            if (!args.NoStore) RunServices.RequirePostgres(configuration, "--no-store");
            await using var services = RunServices.Build(environment, configuration, s =>
            {
                s.AddGrmScoring(configuration);
                if (!args.NoStore) s.AddGrmStorage(configuration.GetSection(StorageOptions.Section)).AddJobService(configuration);
            });
            if (!args.NoStore) runner.Postgres = RunServices.DescribePostgres(configuration);
            var request = ToRequest(args);

            // Before the model loads: the database must be usable, and a stored requestId is never scored again.
            if (!args.NoStore && await services.GetRequiredService<JobReader>().TryGetStoredResultAsync(request.RequestId, cancellationToken) is { } stored)
            {
                throw new RunException(ExitCodes.BadInput,
                    $"requestId '{request.RequestId}' is stored already (job {stored.JobId}, {stored.Status}) and is never scored twice; " +
                    $"`grm jobs show {request.RequestId}` prints it, or pass another --request-id");
            }

            var pipeline = services.GetRequiredService<ScoringPipeline>();
            var received = services.GetRequiredService<TimeProvider>().GetUtcNow();
            var incoming = new IncomingRequest(request, JsonSerializer.Serialize(request, WireJson.Options), received);
            // A request the worker would reject is a usage error here: said with the option that sets the field, and not
            // stored (the worker stores it, to answer its sender).
            var prepared = pipeline.Prepare(incoming);
            if (!prepared.IsRunnable)
            {
                var failure = prepared.Failure;
                throw new RunException(ExitCodes.BadInput, $"rejected: {failure.Code}: {failure.Message}{OptionHint(failure.Message)}");
            }

            // --no-store scores without the JobService: its work is the stored lookup, the fleet-wide claim and the
            // write, none of which exists without a database.
            var (job, jobId) = args.NoStore
                ? ((await pipeline.RunAsync([incoming], cancellationToken))[0], (long?)null)
                : await ScoreAndStoreAsync(services.GetRequiredService<JobService>(), incoming, cancellationToken);

            // The job as it is (or would be) stored: the rows `grm jobs show` reads back.
            var trace = JobTrace.From(JobRowMapping.ToRecord(job), jobId);
            if (args.Json) CliJson.Write(environment.Out, trace);
            else JobTraceView.Render(CliConsole.Create(environment), trace, args.RawText);
            if (job.Status == ScoreStatus.Scored) return ExitCodes.Ok;
            await environment.Error.WriteLineAsync($"grm score: the job {job.Status}: {job.Result.Error?.Code}: {job.Result.Error?.Message}");
            return ExitCodes.Failure;
        }, cancellationToken);
    }

    /// <summary>
    /// As the worker scores: through its <see cref="JobService"/>, so the requestId is claimed across the fleet (a worker
    /// scoring it already is waited for, not raced) and the job is written in one transaction that marks the claim done.
    /// </summary>
    private static async Task<(FinishedJob Job, long? JobId)> ScoreAndStoreAsync(JobService jobs, IncomingRequest incoming, CancellationToken cancellationToken)
    {
        var requestId = incoming.Request.RequestId;
        var outcome = (await jobs.ScoreAndStoreAsync([incoming], cancellationToken))[requestId];
        return outcome.Scored is { } job
            ? (job, outcome.JobId)
            : throw new RunException(ExitCodes.Failure,
                $"requestId '{requestId}' was stored by another writer while this run scored it (job {outcome.JobId}); this run's rows were not written");
    }

    private static ScoreRequest ToRequest(Arguments args) => new()
    {
        RequestId = args.RequestId ?? $"cli-{Guid.NewGuid():N}",
        Route = args.Route,
        Query = args.Query,
        Responses = args.Responses,
        Reference = args.Reference,
        KMax = args.K,
        Temperature = args.Temperature,
        MaxNewTokens = args.MaxNewTokens,
        Seed = args.Seed,
        Stopping = args.Stopping,
        Aggregation = args.Aggregation,
    };

    // Validation messages name the wire field first ("kMax must be 1..64"); say which option sets it.
    private static readonly (string Field, string Option)[] FieldOptions =
    [
        ("requestId", "--request-id"), ("route", "--route"), ("query", "--query"), ("responses", "--response"),
        ("reference", "--reference"), ("kMax", "--k"), ("temperature", "--temperature"), ("maxNewTokens", "--max-new-tokens"),
        ("stopping", "--stopping"), ("aggregation", "--aggregation"),
    ];

    private static string OptionHint(string? message)
    {
        if (message is null) return "";
        var field = message.Split(' ', '[', ',')[0];
        var match = FieldOptions.FirstOrDefault(f => f.Field == field);
        return match.Option is null ? "" : $" (option {match.Option})";
    }
}
