using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using GrmWorker.Cli.Views;
using GrmWorker.Contracts;
using GrmWorker.Storage;
using GrmWorker.Storage.Model;
using GrmWorker.Worker.Runs;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Spectre.Console;

namespace GrmWorker.Cli.Commands;

/// <summary>
/// `grm jobs show REQUEST_ID [--raw] [--json]`: the whole stored trace of one job.
/// `grm jobs list [--route R] [--status S] [--since T] [--until T] [--limit N] [--json]`: stored jobs, newest first.
/// Exit codes: 0, 2 bad arguments, 3 unknown requestId, 4 Postgres unreachable (docs/cli.md).
/// </summary>
internal static class JobsCommand
{
    private const int WideTable = 130;

    public sealed record ShowArguments(string RequestId, bool RawText, bool Json);

    public sealed record ListArguments(string? Route, string? Status, string? Since, string? Until, int Limit, bool Json);

    public static Command Build()
    {
        var jobs = new Command("jobs", "Inspect stored jobs (Postgres: setting Postgres:ConnectionString, env GRM_POSTGRES__CONNECTIONSTRING).");
        jobs.Subcommands.Add(BuildShow());
        jobs.Subcommands.Add(BuildList());
        return jobs;
    }

    private static Command BuildShow()
    {
        var requestId = new Argument<string>("REQUEST_ID") { Description = "The job's requestId." };
        var raw = new Option<bool>("--raw") { Description = "Also print each sample's raw generated text." };
        var json = new Option<bool>("--json") { Description = "Print the trace as one JSON object (raw texts always included)." };
        var show = new Command("show", "The whole trace of a job: samples, permutations, principles, critiques, scores, rewards per strategy.")
        {
            requestId, raw, json,
        };
        show.SetAction((ParseResult r, CancellationToken ct) =>
            ShowAsync(new ShowArguments(r.GetValue(requestId)!, r.GetValue(raw), r.GetValue(json)), RunEnvironment.Process, ct));
        return show;
    }

    private static Command BuildList()
    {
        var route = new Option<string?>("--route") { Description = "Only jobs of this route." };
        var status = new Option<string?>("--status") { Description = "Only jobs with this status: scored, rejected or failed." };
        var since = new Option<string?>("--since") { Description = "Stored at or after: ISO 8601 (UTC unless an offset is given) or an age (30m, 6h, 7d)." };
        var until = new Option<string?>("--until") { Description = "Stored before: ISO 8601 or an age." };
        var limit = new Option<int>("--limit") { Description = "Most jobs to list (newest first).", DefaultValueFactory = _ => 20 };
        var json = new Option<bool>("--json") { Description = "Print {\"jobs\":[...]}." };
        var list = new Command("list", "Stored jobs, newest first, with filters.") { route, status, since, until, limit, json };
        list.SetAction((ParseResult r, CancellationToken ct) => ListAsync(
            new ListArguments(r.GetValue(route), r.GetValue(status), r.GetValue(since), r.GetValue(until), r.GetValue(limit), r.GetValue(json)),
            RunEnvironment.Process, ct));
        return list;
    }

    /// <summary>`grm jobs show`, callable in-process.</summary>
    public static Task<int> ShowAsync(ShowArguments args, RunEnvironment environment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        var runner = new CliRunner("jobs show", environment);
        return runner.RunAsync(async () =>
        {
            var configuration = RunServices.Configuration(environment);
            await using var services = RunServices.Storage(environment, configuration);
            runner.Postgres = RunServices.DescribePostgres(configuration);
            var stored = await services.GetRequiredService<JobReader>().GetJobAsync(args.RequestId, cancellationToken)
                ?? throw new RunException(ExitCodes.NotFound,
                    $"no stored job has requestId '{args.RequestId}' (database {RunServices.DescribePostgres(configuration)}); `grm jobs list` shows the stored ones");
            var trace = JobTrace.From(stored.Job, stored.JobId, stored.CreatedAt);
            if (args.Json) CliJson.Write(environment.Out, trace);
            else JobTraceView.Render(CliConsole.Create(environment), trace, args.RawText);
            return ExitCodes.Ok;
        }, cancellationToken);
    }

    /// <summary>`grm jobs list`, callable in-process.</summary>
    public static Task<int> ListAsync(ListArguments args, RunEnvironment environment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        var runner = new CliRunner("jobs list", environment);
        return runner.RunAsync(async () =>
        {
            var filter = Filter(args);
            if (args.Limit < 1) throw new RunException(ExitCodes.BadInput, $"--limit must be at least 1 (got {args.Limit})");
            var configuration = RunServices.Configuration(environment);
            await using var services = RunServices.Storage(environment, configuration);
            runner.Postgres = RunServices.DescribePostgres(configuration);
            var query = new JobQuery(services.GetRequiredService<NpgsqlDataSource>());
            var rows = await query.ListAsync(filter, args.Limit, cancellationToken);
            var jobs = rows.Select(JobListEntry.From).ToList();
            if (args.Json) CliJson.Write(environment.Out, new { jobs });
            else Render(CliConsole.Create(environment), jobs);
            return ExitCodes.Ok;
        }, cancellationToken);
    }

    private static JobFilter Filter(ListArguments args)
    {
        if (args.Status is { } status && status is not (ScoreStatus.Scored or ScoreStatus.Rejected or ScoreStatus.Failed))
            throw new RunException(ExitCodes.BadInput, $"--status must be scored, rejected or failed (got '{status}')");
        var now = DateTimeOffset.UtcNow;
        var filter = new JobFilter
        {
            Route = args.Route,
            Status = args.Status,
            Since = CliTime.Parse(args.Since, "--since", now),
            Until = CliTime.Parse(args.Until, "--until", now),
        };
        if (filter.Since >= filter.Until)
            throw new RunException(ExitCodes.BadInput, $"--since ({filter.Since:O}) must be before --until ({filter.Until:O})");
        return filter;
    }

    private static void Render(IAnsiConsole console, List<JobListEntry> jobs)
    {
        if (jobs.Count == 0)
        {
            console.WriteLine("no stored jobs match");
            return;
        }
        // On a narrow terminal the less telling columns go (--json has them all).
        var wide = console.Profile.Width >= WideTable;
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn(new TableColumn("stored (UTC)").NoWrap()).AddColumn("requestId").AddColumn("route").AddColumn("status");
        if (wide) table.AddColumn("aggregation");
        table.AddColumn(new TableColumn("valid/used").RightAligned()).AddColumn("stop").AddColumn(new TableColumn("best").RightAligned());
        if (wide) table.AddColumn(new TableColumn("ms").RightAligned()).AddColumn("model");
        foreach (var j in jobs)
        {
            var cells = new List<string>
            {
                j.CreatedAt.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), j.RequestId, j.Route, j.Status,
            };
            if (wide) cells.Add(j.Aggregation ?? "-");
            cells.AddRange([$"{j.SamplesValid}/{j.SamplesUsed}", j.Stop, j.Best is >= 0 ? j.Best.Value.ToString(CultureInfo.InvariantCulture) : "-"]);
            if (wide) cells.AddRange([Math.Round(j.LatencyMs).ToString(CultureInfo.InvariantCulture), j.ModelId ?? "-"]);
            // Cells are plain text from the database: Text, never markup.
            table.AddRow(cells.Select(cell => new Text(cell)));
        }
        console.Write(table);
    }

    /// <summary>One line of `grm jobs list`; <see cref="Best"/> is the stored result's (null when it has none).</summary>
    internal sealed record JobListEntry(
        string RequestId, long JobId, string Route, string Status, string? ErrorCode, string? Aggregation, string? ModelId,
        int SamplesUsed, int SamplesValid, bool StoppedEarly, string Stop, int? Best, double LatencyMs,
        DateTimeOffset ReceivedAt, DateTimeOffset CompletedAt, DateTimeOffset CreatedAt)
    {
        public static JobListEntry From(JobRow row) => new(
            row.RequestId, row.Id, row.Route, row.Status, row.ErrorCode, row.Aggregation, row.ModelId, row.SamplesUsed, row.SamplesValid,
            row.StoppedEarly, JobTrace.StopOf(row.ErrorCode, row.StoppedEarly), StoredBest(row.Result), row.LatencyMs,
            row.ReceivedAt, row.CompletedAt, row.CreatedAt);

        private static int? StoredBest(string resultJson)
        {
            using var result = JsonDocument.Parse(resultJson);
            return result.RootElement.TryGetProperty("best", out var best) && best.TryGetInt32(out var value) ? value : null;
        }
    }
}
