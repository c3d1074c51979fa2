using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using GrmWorker.Storage;
using GrmWorker.Testing;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Pipeline;
using Microsoft.Extensions.Configuration;

namespace GrmWorker.Bench.Pipeline;


/// <summary>
/// `grm-bench pipeline [--jobs N] [--responses R] [--samples K] [--model-jobs M] [--concurrency C] [--repeats R] [--json]`: what the worker costs
/// around the model, on the real local RabbitMQ and Postgres (deploy/local/services-up.sh, GRM_* settings).
/// 1. N jobs through a worker hosted in-process with a <see cref="CannedGrmGenerator"/> (stored GRM texts, no model):
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
    internal const string AdminConnectionVariable = "GRM_LOCAL_TEST_POSTGRES";

    internal const string Hint = "Start the services with deploy/local/services-up.sh, then `source deploy/local/env.sh`.";
    internal const int ReplayMaxNewTokens = 512;
    internal const int MaxWarmUpRounds = 8;
    internal const int SettledJitMethods = 100;

    internal static readonly string[] Tables = ["scoring_jobs", "job_responses", "grm_samples", "principles", "critiques", "scores", "rewards"];

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
            new PipelineSettings(r.GetValue(jobs), r.GetValue(responses), r.GetValue(samples), r.GetValue(modelJobs), r.GetValue(concurrency), r.GetValue(repeats)), r.GetValue(json), Console.Out, Console.Error, ct));
        return command;
    }


    private static async Task<int> RunAsync(PipelineSettings s, bool json, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (s.Jobs < 1 || s.Responses is < 1 or > 16 || s.Samples is < 1 or > 64 || s.ModelJobs < 0 || s.Concurrency < 0 || s.Repeats is < 1 or > 9)
        {
            stderr.WriteLine("grm-bench pipeline: --jobs >= 1, --responses 1..16, --samples 1..64, --model-jobs >= 0, --concurrency >= 0, --repeats 1..9.");
            return 2;
        }
        var modelDir = RepoPaths.FindBundledModel("grm-tiny");
        if (modelDir is null)
        {
            stderr.WriteLine("grm-bench pipeline: models/grm-tiny not found above the current or app directory.");
            return 2;
        }
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables(WorkerHost.EnvironmentPrefix).Build();
        // The bench makes a database per phase: that needs CREATEDB, which the worker's own role does not have, so it
        // runs on the tests' role (services-up.sh writes both).
        var adminConnection = Environment.GetEnvironmentVariable(AdminConnectionVariable);
        var rabbit = configuration.GetSection(RabbitMqOptions.Section).Get<RabbitMqOptions>() ?? new RabbitMqOptions();
        if (string.IsNullOrWhiteSpace(adminConnection) || string.IsNullOrWhiteSpace(rabbit.Username))
        {
            stderr.WriteLine($"grm-bench pipeline: {AdminConnectionVariable} (a Postgres role with CREATEDB) and GRM_RABBITMQ__* are not set. {Hint}");
            return 2;
        }

        var run = new PipelineBenchRun(adminConnection, rabbit, configuration, modelDir);
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
            stderr.WriteLine($"grm-bench pipeline: {ex.Message}");
            return 1;
        }
        finally
        {
            await run.DisposeAsync();
        }
    }

    private static string Walls(IReadOnlyList<TimeSpan> walls) => string.Join(" / ", walls.Select(w => w.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture)));

}
