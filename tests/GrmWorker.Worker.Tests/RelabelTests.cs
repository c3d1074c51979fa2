using System.Globalization;
using System.Text.Json;
using GrmWorker.Cli.Commands;
using GrmWorker.Testing;
using GrmWorker.Worker.Relabel;
using GrmWorker.Worker.Runs;
using RabbitMQ.Client;

namespace GrmWorker.Worker.Tests;

/// <summary>
/// `grm relabel` end to end: through the fixture's worker (real RabbitMQ, Postgres and the bundled random-weight model,
/// whose samples never parse, so every scored line ends <c>failed</c> with its status in OUT), and in process.
/// </summary>
[Collection(WorkerCollection.Name)]
public sealed class RelabelTests(WorkerFixture worker) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("grm-relabel-").FullName;
    private readonly string _runKey = $"test-{Guid.NewGuid():N}";

    private string In => Path.Combine(_dir, "in.jsonl");

    private string Out => Path.Combine(_dir, "out.jsonl");

    private string Rejects => Path.Combine(_dir, "out.rejects.jsonl");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Good_lines_come_out_in_input_order_and_bad_lines_go_to_the_rejects_file_with_their_line_numbers()
    {
        var tooLong = string.Join(' ', Enumerable.Repeat("lorem ipsum dolor", 1700));
        File.WriteAllLines(In,
        [
            Good(1),                                                              // 1
            "{not json",                                                          // 2
            Good(3, requestId: $"explicit-{_runKey}"),                            // 3
            "   ",                                                                // 4: blank, ignored
            """{"query":"q","responses":[]}""",                                   // 5: validator
            """{"query":"q","responses":"abc"}""",                                // 6: wrong JSON type
            JsonSerializer.Serialize(new { query = tooLong, responses = new[] { "a" } }), // 7: the worker rejects it (model context)
            Good(1),                                                              // 8: same text as line 1, its own job
            """{"query":"q","responses":["a"],"kMax":0}""",                       // 9: validator
        ]);

        var (code, stdout, stderr) = await RelabelAsync(Broker());

        Assert.Equal(ExitCodes.BadInput, code);
        var output = ReadJsonl(Out);
        Assert.Equal([1, 3, 1], output.Select(o => o.GetProperty("n").GetInt32()));
        Assert.Equal($"explicit-{_runKey}", output[1].GetProperty("requestId").GetString());
        Assert.NotEqual(output[0].GetProperty("requestId").GetString(), output[2].GetProperty("requestId").GetString());
        foreach (var line in output)
        {
            Assert.Equal("failed", line.GetProperty("status").GetString());
            Assert.Equal("no_valid_samples", line.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal(WorkerFixture.KMax, line.GetProperty("samplesUsed").GetInt32());
            Assert.Equal(0, line.GetProperty("samplesValid").GetInt32());
            Assert.Equal(-1, line.GetProperty("best").GetInt32());
            Assert.Equal(0, line.GetProperty("rewards").GetArrayLength());
            Assert.False(line.GetProperty("stoppedEarly").GetBoolean());
            Assert.Equal("kept", line.GetProperty("extra").GetString());
            Assert.Equal(line.GetProperty("n").GetInt32(), line.GetProperty("metadata").GetProperty("n").GetInt32());
            Assert.Equal("failed", await worker.ScalarAsync<string>("SELECT status FROM scoring_jobs WHERE request_id = $1", line.GetProperty("requestId").GetString()!));
        }

        var rejects = ReadJsonl(Rejects);
        Assert.Equal([2, 5, 6, 7, 9], rejects.Select(r => r.GetProperty("line").GetInt32()).Order());
        Assert.Equal("invalid_json", Reject(rejects, 2).GetProperty("code").GetString());
        Assert.Contains("responses", Reject(rejects, 5).GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("responses", Reject(rejects, 6).GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("too_large", Reject(rejects, 7).GetProperty("code").GetString());
        Assert.Contains("kMax", Reject(rejects, 9).GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("{not json", Reject(rejects, 2).GetProperty("input").GetString());
        foreach (var line in new[] { 2, 5, 6, 7, 9 })
            Assert.Contains($"{In}:{line}: ", stderr, StringComparison.Ordinal);

        var summary = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(8, summary.GetProperty("lines").GetInt32());
        Assert.Equal(3, summary.GetProperty("written").GetInt32());
        Assert.Equal(3, summary.GetProperty("failed").GetInt32());
        Assert.Equal(5, summary.GetProperty("rejected").GetInt32());
        Assert.Equal(4, summary.GetProperty("sent").GetInt32());
        Assert.Equal(0, summary.GetProperty("skipped").GetInt32());
        Assert.Equal(3 * WorkerFixture.KMax, summary.GetProperty("samplesUsed").GetInt64());
        Assert.False(File.Exists(Out + ".partial"));
    }

    [Fact]
    public async Task An_interrupted_run_resumes_sending_only_the_lines_not_in_OUT_and_no_job_is_scored_twice()
    {
        const int Lines = 8;
        File.WriteAllLines(In, Enumerable.Range(1, Lines).Select(n => Good(n)));
        var args = Broker() with { MaxInFlight = 1 };

        // Run 1: cancelled (as Ctrl+C does) once two results are on disk.
        using var interrupt = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            await Poll.UntilAsync(() => interrupt.IsCancellationRequested || CountLines(Out + ".partial") >= 2, TimeSpan.FromSeconds(60),
                () => "run 1 wrote two results", TimeSpan.FromMilliseconds(10));
            await interrupt.CancelAsync();
        });
        var (first, _, firstErr) = await RelabelAsync(args, cancellationToken: interrupt.Token);
        await watcher;
        Assert.Equal(ExitCodes.Cancelled, first);
        Assert.Contains("run the same command again", firstErr, StringComparison.Ordinal);
        var done = ReadJsonl(Out);
        Assert.InRange(done.Count, 2, Lines - 1);
        Assert.Equal(Enumerable.Range(1, done.Count), done.Select(o => o.GetProperty("n").GetInt32()));
        var secondStarted = await worker.ScalarAsync<DateTime>("SELECT now()");

        // Run 2: sends only what is not in OUT; OUT ends complete and in order.
        var (second, stdout, _) = await RelabelAsync(args);
        Assert.Equal(ExitCodes.Ok, second);
        var summary = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(done.Count, summary.GetProperty("skipped").GetInt32());
        Assert.Equal(Lines - done.Count, summary.GetProperty("sent").GetInt32());
        Assert.Equal(Lines, summary.GetProperty("written").GetInt32());
        var all = ReadJsonl(Out);
        Assert.Equal(Enumerable.Range(1, Lines), all.Select(o => o.GetProperty("n").GetInt32()));
        Assert.Equal(done.Select(Id), all.Take(done.Count).Select(Id));

        // One job and k samples per line, and the lines done in run 1 were not run again in run 2.
        var ids = all.Select(Id).ToArray();
        Assert.Equal(Lines, await worker.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = ANY($1)", (object)ids));
        Assert.Equal(Lines * WorkerFixture.KMax, await worker.ScalarAsync<long>(
            "SELECT count(*) FROM grm_samples s JOIN scoring_jobs j ON j.id = s.job_id WHERE j.request_id = ANY($1)", (object)ids));
        Assert.Equal(done.Count, await worker.ScalarAsync<long>(
            "SELECT count(*) FROM scoring_jobs WHERE request_id = ANY($1) AND completed_at < $2", (object)done.Select(Id).ToArray(), secondStarted));

        // Run 3: nothing left to send (no broker needed).
        var (third, thirdOut, _) = await RelabelAsync(args with { Queue = "no-such-queue" });
        Assert.Equal(ExitCodes.Ok, third);
        Assert.Equal(0, JsonDocument.Parse(thirdOut).RootElement.GetProperty("sent").GetInt32());
        Assert.Equal(File.ReadAllText(Out), string.Join("", all.Select(o => o.GetRawText() + "\n")));
    }

    [Fact]
    public async Task A_line_without_a_result_in_time_is_rejected_as_timeout_and_the_next_run_retries_it()
    {
        File.WriteAllLines(In, [Good(1), Good(2)]);
        var idle = $"grm.score.relabel-idle-{Guid.NewGuid():N}";
        await using (var connection = await Factory().CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync())
            await channel.QueueDeclareAsync(idle, durable: false, exclusive: false, autoDelete: false);
        try
        {
            // Nobody consumes this queue: no result comes.
            var (code, stdout, stderr) = await RelabelAsync(Broker() with { Queue = idle, Timeout = TimeSpan.FromSeconds(1) });

            Assert.Equal(ExitCodes.Unavailable, code);
            Assert.Equal(2, JsonDocument.Parse(stdout).RootElement.GetProperty("timedOut").GetInt32());
            Assert.Empty(ReadJsonl(Out));
            Assert.All(ReadJsonl(Rejects), r => Assert.Equal("timeout", r.GetProperty("code").GetString()));
            Assert.Contains($"{In}:1: timeout", stderr, StringComparison.Ordinal);
        }
        finally
        {
            await worker.Amqp.DeleteQueueAsync(idle);
        }

        var (retried, _, _) = await RelabelAsync(Broker());
        Assert.Equal(ExitCodes.Ok, retried);
        Assert.Equal([1, 2], ReadJsonl(Out).Select(o => o.GetProperty("n").GetInt32()));
        Assert.Empty(ReadJsonl(Rejects));
    }

    [Fact]
    public async Task Local_mode_scores_in_process_stores_like_the_worker_and_a_second_run_skips_every_line()
    {
        File.WriteAllLines(In, [Good(1), """{"query":"q"}""", Good(3)]);

        var (code, stdout, _) = await RelabelAsync(Local());

        Assert.Equal(ExitCodes.BadInput, code);
        var output = ReadJsonl(Out);
        Assert.Equal([1, 3], output.Select(o => o.GetProperty("n").GetInt32()));
        Assert.All(output, o => Assert.Equal("failed", o.GetProperty("status").GetString()));
        Assert.Equal([2], ReadJsonl(Rejects).Select(r => r.GetProperty("line").GetInt32()));
        Assert.Equal("local", JsonDocument.Parse(stdout).RootElement.GetProperty("mode").GetString());
        foreach (var line in output)
        {
            var id = Id(line);
            Assert.Equal("failed", await worker.ScalarAsync<string>("SELECT status FROM scoring_jobs WHERE request_id = $1", id));
            Assert.StartsWith("relabel.", await worker.ScalarAsync<string>("SELECT route FROM scoring_jobs WHERE request_id = $1", id), StringComparison.Ordinal);
            Assert.Equal(WorkerFixture.KMax, await worker.ScalarAsync<long>(
                "SELECT count(*) FROM grm_samples s JOIN scoring_jobs j ON j.id = s.job_id WHERE j.request_id = $1", id));
        }

        var (again, againOut, _) = await RelabelAsync(Local());
        Assert.Equal(ExitCodes.BadInput, again);
        var summary = JsonDocument.Parse(againOut).RootElement;
        Assert.Equal(2, summary.GetProperty("skipped").GetInt32());
        Assert.Equal(0, summary.GetProperty("sent").GetInt32());
    }

    [Fact]
    public async Task Local_mode_without_storage_needs_no_database_and_stores_nothing()
    {
        File.WriteAllLines(In, [Good(1), Good(2)]);
        var args = Local() with { NoStore = true };
        var environment = EnvironmentFor(local: true, withDatabase: false);

        var (code, _, _) = await RelabelAsync(args, environment: environment);

        Assert.Equal(ExitCodes.Ok, code);
        var output = ReadJsonl(Out);
        Assert.Equal([1, 2], output.Select(o => o.GetProperty("n").GetInt32()));
        Assert.Equal(0L, await worker.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = ANY($1)", (object)output.Select(Id).ToArray()));
    }

    private string Good(int n, string? requestId = null) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["n"] = n,
        ["requestId"] = requestId,
        ["query"] = $"What is {n} + {n}? ({_runKey})",
        ["responses"] = new[] { (n + n).ToString(CultureInfo.InvariantCulture), "no idea" },
        ["kMax"] = WorkerFixture.KMax,
        ["maxNewTokens"] = WorkerFixture.MaxNewTokens,
        ["metadata"] = new { n },
        ["extra"] = "kept",
    }.Where(p => p.Value is not null).ToDictionary());

    private RelabelArguments Broker() => new() { Input = In, Output = Out, RunKey = _runKey, Json = true, Timeout = TimeSpan.FromSeconds(60) };

    private RelabelArguments Local() => Broker() with { Local = true };

    private async Task<(int Code, string Stdout, string Stderr)> RelabelAsync(RelabelArguments args,
        Func<StringWriter, StringWriter, RunEnvironment>? environment = null, CancellationToken cancellationToken = default)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var env = (environment ?? EnvironmentFor(args.Local, withDatabase: true))(stdout, stderr);
        var code = await RelabelCommand.RunAsync(args, env, cancellationToken);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private Func<StringWriter, StringWriter, RunEnvironment> EnvironmentFor(bool local, bool withDatabase) => (stdout, stderr) =>
    {
        var settings = new Dictionary<string, string?>(ServiceSettings.Broker())
        {
            ["RabbitMq:ScoreQueue"] = worker.ScoreQueue,
            ["RabbitMq:ResultExchange"] = WorkerFixture.ResultExchange,
            ["Stopping:KMax"] = WorkerFixture.KMax.ToString(CultureInfo.InvariantCulture),
            ["Stopping:KMin"] = WorkerFixture.KMax.ToString(CultureInfo.InvariantCulture),
            ["Stopping:RoundSize"] = WorkerFixture.KMax.ToString(CultureInfo.InvariantCulture),
            ["Postgres:ConnectionString"] = withDatabase ? worker.ConnectionString : "",
        };
        if (local)
        {
            settings["Model:Directory"] = Path.Combine(ServiceSettings.RepoRoot, "models", "tiny-random");
            settings["Inference:IntraOpThreads"] = "1";
            settings["Worker:DefaultMaxNewTokens"] = WorkerFixture.MaxNewTokens.ToString(CultureInfo.InvariantCulture);
        }
        return new RunEnvironment(stdout, stderr) { Settings = settings };
    };

    private static ConnectionFactory Factory() => ServiceSettings.RabbitMqFactory();

    private static string Id(JsonElement line) => line.GetProperty("requestId").GetString()!;

    private static JsonElement Reject(List<JsonElement> rejects, int line) => Assert.Single(rejects, r => r.GetProperty("line").GetInt32() == line);

    private static List<JsonElement> ReadJsonl(string path) =>
        File.Exists(path) ? [.. File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone())] : [];

    private static int CountLines(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd().Count(c => c == '\n');
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
