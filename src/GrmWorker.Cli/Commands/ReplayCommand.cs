using System.CommandLine;
using GrmWorker.Cli.Views;
using GrmWorker.Contracts;
using GrmWorker.Inference;
using GrmWorker.Scoring.Aggregation;
using GrmWorker.Storage;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Messaging;
using GrmWorker.Worker.Pipeline;
using GrmWorker.Worker.Replay;
using GrmWorker.Worker.Runs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Spectre.Console;

namespace GrmWorker.Cli.Commands;

/// <summary>
/// `grm replay [--request-id ID ...] [--route R] [--since T] [--until T] [--all] --aggregation voting|meta-rm [--k N]
/// [--meta-rm DIR] [--publish] [--json]`: rewards recomputed from STORED samples (no GRM runs) with the live
/// aggregators, stored as new reward rows tagged with the strategy (<see cref="ReplayStrategy"/>), old rows kept;
/// running it again adds nothing. Exit codes: 0, 1 a job could not be replayed, 2 bad arguments, 3 a requestId
/// not found or nothing matched, 4 Postgres or RabbitMQ unreachable (docs/cli.md).
/// </summary>
internal static class ReplayCommand
{
    public sealed record Arguments
    {
        public IReadOnlyList<string> RequestIds { get; init; } = [];
        public string? Route { get; init; }
        public string? Since { get; init; }
        public string? Until { get; init; }
        public bool All { get; init; }
        public required string Aggregation { get; init; }
        public int? K { get; init; }
        public string? MetaRm { get; init; }
        public bool Publish { get; init; }
        public bool Json { get; init; }
    }

    public static Command Build()
    {
        var requestIds = new Option<string[]>("--request-id") { Description = "Replay these jobs (repeat the option or list several).", AllowMultipleArgumentsPerToken = true };
        var route = new Option<string?>("--route") { Description = "Only jobs of this route." };
        var since = new Option<string?>("--since") { Description = "Only jobs stored at or after: ISO 8601 (UTC unless an offset is given) or an age (30m, 6h, 7d)." };
        var until = new Option<string?>("--until") { Description = "Only jobs stored before: ISO 8601 or an age." };
        var all = new Option<bool>("--all") { Description = "Every stored job (needed when no other filter is given)." };
        var aggregation = new Option<string>("--aggregation") { Description = "voting, or meta-rm (top half of the samples by meta score vote).", Required = true };
        aggregation.AcceptOnlyFromAmong(AggregationKind.Voting, AggregationKind.MetaRm);
        var k = new Option<int?>("--k") { Description = "Use only each job's first k stored samples (default: all)." };
        var metaRm = new Option<string?>("--meta-rm") { Description = "Meta-RM directory: score the stored samples with it (default: the stored meta scores)." };
        var publish = new Option<bool>("--publish") { Description = "Send each new result to the result exchange (grm.rewards), routing key = the job's route." };
        var json = new Option<bool>("--json") { Description = "Print the summary and every job as one JSON object." };
        var command = new Command("replay", "Recompute rewards of stored jobs with another aggregation, k or meta-RM, without running the GRM.")
        {
            requestIds, route, since, until, all, aggregation, k, metaRm, publish, json,
        };
        command.SetAction((ParseResult r, CancellationToken ct) => RunAsync(new Arguments
        {
            RequestIds = r.GetValue(requestIds) ?? [],
            Route = r.GetValue(route),
            Since = r.GetValue(since),
            Until = r.GetValue(until),
            All = r.GetValue(all),
            Aggregation = r.GetValue(aggregation)!,
            K = r.GetValue(k),
            MetaRm = r.GetValue(metaRm),
            Publish = r.GetValue(publish),
            Json = r.GetValue(json),
        }, RunEnvironment.Process, ct));
        return command;
    }

    /// <summary>The command's work, callable in-process.</summary>
    public static Task<int> RunAsync(Arguments args, RunEnvironment environment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        var runner = new CliRunner("replay", environment);
        return runner.RunAsync(async () =>
        {
            var filter = Filter(args);
            if (new ReplayStrategy(args.Aggregation, args.K, args.MetaRm is null ? null : "-").Problem() is { } problem)
                throw new RunException(ExitCodes.BadInput, problem);
            var configuration = RunServices.Configuration(environment);
            await using var services = RunServices.Storage(environment, configuration);
            runner.Postgres = RunServices.DescribePostgres(configuration);
            var query = new JobQuery(services.GetRequiredService<NpgsqlDataSource>());
            var notFound = await NotFoundAsync(query, args.RequestIds, cancellationToken);

            // Fail before writing anything: the meta-RM loads and the broker answers, or nothing is replayed.
            using var metaScorer = args.MetaRm is { } dir ? new MetaRmScorer(MetaRewardModel.Load(dir, InferenceSettings(configuration))) : null;
            await using var publisher = args.Publish ? await PublisherAsync(services, configuration, cancellationToken) : null;
            var strategy = new ReplayStrategy(args.Aggregation, args.K, metaScorer?.ModelId);
            var run = new ReplayRun(query, services.GetRequiredService<JobWriter>(), strategy, new MetaRmOptions(),
                metaScorer is null ? null : new MetaRmRescorer(metaScorer), publisher);

            var console = CliConsole.Create(environment);
            IReadOnlyList<ReplayJobOutcome> outcomes;
            if (environment.Interactive && !args.Json)
            {
                var total = await query.CountAsync(filter, cancellationToken);
                outcomes = await console.Progress().AutoClear(true).StartAsync(async progress =>
                {
                    var task = progress.AddTask($"replay {Markup.Escape(strategy.Name)}", maxValue: Math.Max(1, total));
                    return await run.RunAsync(filter, n => task.Increment(n), cancellationToken);
                });
            }
            else
            {
                outcomes = await run.RunAsync(filter, _ => { }, cancellationToken);
            }

            var report = ReplayReport.From(strategy, outcomes, notFound);
            foreach (var failed in outcomes.Where(o => o.Outcome == ReplayJobOutcome.Failed))
                await environment.Error.WriteLineAsync($"grm replay: job '{failed.RequestId}': {failed.Reason}");
            foreach (var id in notFound)
                await environment.Error.WriteLineAsync($"grm replay: no stored job has requestId '{id}'");
            if (report.Selected == 0 && notFound.Count == 0)
                await environment.Error.WriteLineAsync("grm replay: no stored job matches the filters");
            if (args.Json) CliJson.Write(environment.Out, report);
            else ReplayView.Render(console, report);
            return report.ExitCode;
        }, cancellationToken);
    }

    private static JobFilter Filter(Arguments args)
    {
        var requestIds = args.RequestIds.Where(id => !string.IsNullOrWhiteSpace(id)).Distinct(StringComparer.Ordinal).ToArray();
        if (!args.All && requestIds.Length == 0 && args.Route is null && args.Since is null && args.Until is null)
            throw new RunException(ExitCodes.BadInput, "choose the jobs to replay: --request-id ID, --route R, --since T / --until T, or --all");
        var now = DateTimeOffset.UtcNow;
        var filter = new JobFilter
        {
            RequestIds = requestIds.Length > 0 ? requestIds : null,
            Route = args.Route,
            Since = CliTime.Parse(args.Since, "--since", now),
            Until = CliTime.Parse(args.Until, "--until", now),
        };
        if (filter.Since >= filter.Until)
            throw new RunException(ExitCodes.BadInput, $"--since ({filter.Since:O}) must be before --until ({filter.Until:O})");
        return filter;
    }

    private static async Task<IReadOnlyList<string>> NotFoundAsync(JobQuery query, IReadOnlyList<string> requestIds, CancellationToken cancellationToken)
    {
        var wanted = requestIds.Where(id => !string.IsNullOrWhiteSpace(id)).Distinct(StringComparer.Ordinal).ToArray();
        if (wanted.Length == 0) return [];
        var stored = await query.ExistingRequestIdsAsync(wanted, cancellationToken);
        return [.. wanted.Where(id => !stored.Contains(id))];
    }

    private static InferenceOptions InferenceSettings(IConfiguration configuration) =>
        configuration.GetSection(InferenceOptions.Section).Get<InferenceOptions>() ?? new InferenceOptions();

    /// <summary>The worker's result publisher on the configured broker, after one connection proved the broker answers.</summary>
    private static async Task<ResultPublisher> PublisherAsync(IServiceProvider services, IConfiguration configuration, CancellationToken cancellationToken)
    {
        var options = configuration.GetSection(RabbitMqOptions.Section).Get<RabbitMqOptions>() ?? new RabbitMqOptions();
        if (RabbitMqOptions.Problems(options).ToList() is { Count: > 0 } problems)
            throw new RunException(ExitCodes.BadInput, $"--publish needs the broker settings (env GRM_RABBITMQ__*): {string.Join("; ", problems)}");
        await using (await RabbitMqConnections.ConnectAsync(options, "grm-replay", cancellationToken))
        {
        }
        return new ResultPublisher(Options.Create(options), services.GetRequiredService<ILogger<ResultPublisher>>());
    }
}
