using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using GrmWorker.Cli.Views;
using GrmWorker.Worker.Relabel;
using GrmWorker.Worker.Runs;

namespace GrmWorker.Cli.Commands;

/// <summary>
/// `grm relabel IN.jsonl OUT.jsonl [--local [--no-store]] [--max-in-flight N] [--timeout 30m] [--rejects PATH]
/// [--route-prefix P] [--run-key K] [--queue Q] [--model DIR] [--json]`: one job per input line, through the worker
/// (RabbitMQ) or in process; OUT in input order with the rewards added; resumable; bad lines to a rejects file.
/// Exit codes: 0 every line is in OUT, 2 bad arguments or unreadable IN, or some lines rejected, 4 some lines timed
/// out or a service is unreachable, 1 a runtime failure, 130 interrupted (docs/relabel.md).
/// </summary>
internal static class RelabelCommand
{
    public static Command Build()
    {
        var defaults = new RelabelArguments { Input = "", Output = "" };
        var input = new Argument<string>("IN") { Description = "Input JSONL: one object per line with query, responses and optional request fields." };
        var output = new Argument<string>("OUT") { Description = "Output JSONL: each input line with requestId, status, rewards, best, samplesUsed, samplesValid, stoppedEarly added." };
        var local = new Option<bool>("--local") { Description = "Score in process with the worker's pipeline (no broker); stored in Postgres unless --no-store." };
        var noStore = new Option<bool>("--no-store") { Description = "With --local: keep nothing in Postgres (no database needed)." };
        var maxInFlight = new Option<int>("--max-in-flight") { Description = "Requests waiting for a result at once.", DefaultValueFactory = _ => defaults.MaxInFlight };
        var timeout = new Option<TimeSpan>("--timeout")
        {
            Description = "How long one request may wait for its result (90s, 30m, 2h, or seconds); then the line is rejected with code timeout and the next run retries it.",
            DefaultValueFactory = _ => defaults.Timeout,
            CustomParser = ParseDuration,
        };
        var rejects = new Option<string?>("--rejects") { Description = "Rejects file (default: OUT with .jsonl replaced by .rejects.jsonl)." };
        var routePrefix = new Option<string>("--route-prefix") { Description = "Results come back on route PREFIX.<hash of the run key>; keep it the same when resuming.", DefaultValueFactory = _ => defaults.RoutePrefix };
        var runKey = new Option<string?>("--run-key") { Description = "Mixed into every derived requestId (default: IN's file name); a new key scores every line anew." };
        var queue = new Option<string?>("--queue") { Description = "The worker's request queue (default: setting RabbitMq:ScoreQueue, env GRM_RABBITMQ__SCOREQUEUE)." };
        var model = new Option<string?>("--model") { Description = "GRM model directory for --local (default: setting Model:Directory, env GRM_MODEL__DIRECTORY)." };
        var json = new Option<bool>("--json") { Description = "No progress bar; print the summary as one JSON object." };
        var command = new Command("relabel", "Score every line of a JSONL file through the worker (or --local) and write the rewards next to each line.")
        {
            input, output, local, noStore, maxInFlight, timeout, rejects, routePrefix, runKey, queue, model, json,
        };
        command.SetAction((ParseResult r, CancellationToken ct) => RunAsync(new RelabelArguments
        {
            Input = r.GetValue(input)!,
            Output = r.GetValue(output)!,
            Rejects = r.GetValue(rejects),
            Local = r.GetValue(local),
            NoStore = r.GetValue(noStore),
            MaxInFlight = r.GetValue(maxInFlight),
            Timeout = r.GetValue(timeout),
            RoutePrefix = r.GetValue(routePrefix) ?? defaults.RoutePrefix,
            RunKey = r.GetValue(runKey),
            Queue = r.GetValue(queue),
            Model = r.GetValue(model),
            Json = r.GetValue(json),
        }, RunEnvironment.Process, ct));
        return command;
    }

    /// <summary>The command's work, callable in-process.</summary>
    public static Task<int> RunAsync(RelabelArguments args, RunEnvironment environment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(args);
        var runner = new CliRunner("relabel", environment) { PostgresAlternative = "pass --no-store to score without storing, or leave out --local" };
        return runner.RunAsync(async () =>
        {
            var summary = await RelabelRun.ExecuteAsync(args, environment, RelabelDisplay.RunAsync, postgres => runner.Postgres = postgres, cancellationToken);
            RelabelSummaryView.Print(summary, environment, args.Json);
            if (summary.Interrupted)
                await environment.Error.WriteLineAsync($"grm relabel: interrupted; {summary.Written} lines are in {args.Output}; run the same command again to send the rest");
            return summary.ExitCode;
        }, cancellationToken);
    }

    /// <summary>"90s", "30m", "2h", "1d", plain seconds ("600") or a TimeSpan ("00:10:00").</summary>
    internal static TimeSpan ParseDuration(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value.Trim() : "";
        if (TryParseDuration(text, out var value)) return value;
        result.AddError($"--timeout '{text}' is not a duration: use 90s, 30m, 2h, a number of seconds, or hh:mm:ss");
        return default;
    }

    internal static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        if (text.Length == 0) return false;
        var unit = text[^1] switch
        {
            's' => TimeSpan.FromSeconds(1),
            'm' => TimeSpan.FromMinutes(1),
            'h' => TimeSpan.FromHours(1),
            'd' => TimeSpan.FromDays(1),
            _ => (TimeSpan?)null,
        };
        var number = unit is null ? text : text[..^1];
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && double.IsFinite(amount) && amount * (unit ?? TimeSpan.FromSeconds(1)).TotalDays < 3650)
        {
            value = (unit ?? TimeSpan.FromSeconds(1)) * amount;
            return true;
        }
        return unit is null && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value);
    }
}
