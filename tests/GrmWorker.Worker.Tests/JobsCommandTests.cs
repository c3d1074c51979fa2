using System.Globalization;
using System.Text.Json;
using GrmWorker.Cli.Commands;
using GrmWorker.Storage;
using GrmWorker.Worker.Runs;
using Npgsql;

namespace GrmWorker.Worker.Tests;

/// <summary>`grm jobs show` and `grm jobs list` in-process against a private database filled through JobWriter.</summary>
public sealed class JobsCommandTests(CliFixture cli) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task Jobs_show_json_matches_the_stored_rows()
    {
        var id = CliFixture.NewRequestId("show");
        await cli.Writer.WriteAsync(StoredJobs.Scored(id, "show.route"), CancellationToken.None);
        var jobId = await cli.ScalarAsync<long>("SELECT id FROM scoring_jobs WHERE request_id = $1", id);
        await cli.Writer.AddRewardsAsync(jobId, [new RewardRecord("voting@k1", 0, 2, 2), new RewardRecord("voting@k1", 1, 8, 8)], CancellationToken.None);

        var run = await cli.Run(env => JobsCommand.ShowAsync(new JobsCommand.ShowArguments(id, false, true), env, CancellationToken.None));

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        var shown = run.Json;
        await using (var job = await ReadAsync(
            "SELECT id, route, status, model_id, prompt_version, aggregation, samples_used, samples_valid, stopped_early, latency_ms, " +
            "prompt_tokens, generated_tokens, received_at, completed_at, created_at FROM scoring_jobs WHERE request_id = $1", id))
        {
            Assert.True(await job.ReadAsync());
            Assert.Equal(job.GetInt64(0), shown.GetProperty("jobId").GetInt64());
            Assert.Equal(job.GetString(1), shown.GetProperty("route").GetString());
            Assert.Equal(job.GetString(2), shown.GetProperty("status").GetString());
            Assert.Equal(job.GetString(3), shown.GetProperty("modelId").GetString());
            Assert.Equal(job.GetString(4), shown.GetProperty("promptVersion").GetString());
            Assert.Equal(job.GetString(5), shown.GetProperty("aggregation").GetString());
            Assert.Equal(job.GetInt32(6), shown.GetProperty("samplesUsed").GetInt32());
            Assert.Equal(job.GetInt32(7), shown.GetProperty("samplesValid").GetInt32());
            Assert.Equal(job.GetBoolean(8), shown.GetProperty("stoppedEarly").GetBoolean());
            Assert.Equal("early", shown.GetProperty("stop").GetString());
            Assert.Equal(job.GetDouble(9), shown.GetProperty("latencyMs").GetDouble());
            Assert.Equal(job.GetInt64(10), shown.GetProperty("tokens").GetProperty("prompt").GetInt64());
            Assert.Equal(job.GetInt64(11), shown.GetProperty("tokens").GetProperty("generated").GetInt64());
            Assert.Equal(job.GetFieldValue<DateTimeOffset>(12), shown.GetProperty("receivedAt").GetDateTimeOffset());
            Assert.Equal(job.GetFieldValue<DateTimeOffset>(13), shown.GetProperty("completedAt").GetDateTimeOffset());
            Assert.Equal(job.GetFieldValue<DateTimeOffset>(14), shown.GetProperty("createdAt").GetDateTimeOffset());
        }
        Assert.Equal("What is 2+2?", shown.GetProperty("query").GetString());
        Assert.Equal(await Column<string>("SELECT text FROM job_responses WHERE job_id = $1 ORDER BY response_index", jobId),
            shown.GetProperty("responses").EnumerateArray().Select(r => r.GetString()!));

        var samples = shown.GetProperty("samples").EnumerateArray().ToArray();
        Assert.Equal(await Column<int>("SELECT sample_index FROM grm_samples WHERE job_id = $1 ORDER BY sample_index", jobId),
            samples.Select(s => s.GetProperty("index").GetInt32()));
        foreach (var s in samples)
        {
            var index = s.GetProperty("index").GetInt32();
            await using (var row = await ReadAsync(
                "SELECT seed, permutation, raw_text, parse_status, parse_reason, meta_score, prompt_tokens, generated_tokens, latency_ms, prompt_version " +
                "FROM grm_samples WHERE job_id = $1 AND sample_index = $2", jobId, index))
            {
                Assert.True(await row.ReadAsync());
                Assert.Equal(row.GetInt64(0), s.GetProperty("seed").GetInt64());
                Assert.Equal(row.GetFieldValue<int[]>(1), s.GetProperty("permutation").EnumerateArray().Select(p => p.GetInt32()));
                Assert.Equal(row.GetString(2), s.GetProperty("rawText").GetString());
                Assert.Equal(row.GetString(3), s.GetProperty("parseStatus").GetString());
                Assert.Equal(row.IsDBNull(4) ? null : row.GetString(4), s.GetProperty("parseReason").GetString());
                Assert.Equal(row.GetString(3) == "ok", s.GetProperty("valid").GetBoolean());
                Assert.Equal(row.IsDBNull(5) ? null : row.GetDouble(5), NullableDouble(s.GetProperty("metaScore")));
                Assert.Equal(row.GetInt32(6), s.GetProperty("promptTokens").GetInt32());
                Assert.Equal(row.GetInt32(7), s.GetProperty("generatedTokens").GetInt32());
                Assert.Equal(row.GetDouble(8), s.GetProperty("latencyMs").GetDouble());
                Assert.Equal(row.GetString(9), s.GetProperty("promptVersion").GetString());
            }
            Assert.Equal(
                await Rows("SELECT ordinal, text, weight FROM principles WHERE job_id = $1 AND sample_index = $2 ORDER BY ordinal", jobId, index),
                s.GetProperty("principles").EnumerateArray().Select(p => $"{p.GetProperty("ordinal").GetInt32()}|{p.GetProperty("text").GetString()}|{Text(p.GetProperty("weight"))}"));
            var permutation = s.GetProperty("permutation").EnumerateArray().Select(p => p.GetInt32()).ToList();
            foreach (var j in s.GetProperty("judgements").EnumerateArray())
            {
                var response = j.GetProperty("responseIndex").GetInt32();
                Assert.Equal(permutation.IndexOf(response), j.GetProperty("shownAt").GetInt32());
                Assert.Equal(await cli.ScalarAsync<string>("SELECT text FROM critiques WHERE job_id = $1 AND sample_index = $2 AND response_index = $3", jobId, index, response),
                    j.GetProperty("critique").GetString());
                var score = await cli.ScalarAsync<short?>("SELECT score FROM scores WHERE job_id = $1 AND sample_index = $2 AND response_index = $3", jobId, index, response);
                Assert.Equal(score, j.GetProperty("score").ValueKind == JsonValueKind.Null ? null : (short)j.GetProperty("score").GetInt32());
            }
        }

        // Every reward row, grouped per strategy in response order.
        var stored = await Rows("SELECT strategy, response_index, value, vote_sum FROM rewards WHERE job_id = $1 ORDER BY strategy, response_index", jobId);
        var printed = shown.GetProperty("rewards").EnumerateArray()
            .SelectMany(r => r.GetProperty("rewards").EnumerateArray().Select((v, i) =>
                (Strategy: r.GetProperty("strategy").GetString()!, Line: $"{r.GetProperty("strategy").GetString()}|{i}|{Text(v)}|{Text(r.GetProperty("voteSums")[i])}")))
            .OrderBy(x => x.Strategy, StringComparer.Ordinal).Select(x => x.Line);
        Assert.Equal(stored, printed);
        var k1 = shown.GetProperty("rewards").EnumerateArray().Single(r => r.GetProperty("strategy").GetString() == "voting@k1");
        Assert.Equal(1, k1.GetProperty("best").GetInt32());
    }

    [Fact]
    public async Task Jobs_show_prints_the_trace_for_people()
    {
        var id = CliFixture.NewRequestId("show-text");
        await cli.Writer.WriteAsync(StoredJobs.Scored(id, "show.text"), CancellationToken.None);

        var run = await cli.Run(env => JobsCommand.ShowAsync(new JobsCommand.ShowArguments(id, true, false), env, CancellationToken.None));

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        Assert.Contains(id, run.Stdout);
        Assert.Contains("sample 0 · seed 11 · shown [1,0] · ok · meta 0.9", run.Stdout);
        Assert.Contains("sample 2 · seed 33 · shown [0,1] · wrong_count", run.Stdout);
        Assert.Contains("expected 2 scores, found 1", run.Stdout);
        Assert.Contains("Accuracy of sample 0", run.Stdout);
        Assert.Contains("30%", run.Stdout);
        Assert.Contains("Critique of response 1 by sample 1", run.Stdout);
        Assert.Contains("raw text", run.Stdout);
        Assert.Matches(@"voting\s+│\s+6 \(Σ 12\)\s+│\s+3\.5 \(Σ 7\)\s+│\s+0", run.Stdout);
    }

    [Fact]
    public async Task Jobs_show_of_an_unknown_request_id_exits_with_not_found()
    {
        var run = await cli.Run(env => JobsCommand.ShowAsync(new JobsCommand.ShowArguments("no-such-request", false, false), env, CancellationToken.None));

        Assert.Equal(ExitCodes.NotFound, run.ExitCode);
        Assert.Contains("no stored job has requestId 'no-such-request'", run.Stderr);
        Assert.Equal("", run.Stdout);
    }

    [Fact]
    public async Task Jobs_list_filters_by_route_status_and_time()
    {
        var route = $"list.{Guid.NewGuid():N}";
        string[] scored = [CliFixture.NewRequestId("a"), CliFixture.NewRequestId("b")];
        var failed = CliFixture.NewRequestId("f");
        foreach (var id in scored) await cli.Writer.WriteAsync(StoredJobs.Scored(id, route), CancellationToken.None);
        await cli.Writer.WriteAsync(StoredJobs.Failed(failed, route), CancellationToken.None);
        await cli.Writer.WriteAsync(StoredJobs.Scored(CliFixture.NewRequestId("other"), "list.other"), CancellationToken.None);

        var all = await List(new JobsCommand.ListArguments(route, null, null, null, 20, true));
        var onlyFailed = await List(new JobsCommand.ListArguments(route, "failed", null, null, 20, true));
        var newest = await List(new JobsCommand.ListArguments(route, null, null, null, 1, true));
        var lastHour = await List(new JobsCommand.ListArguments(route, null, "1h", null, 20, true));
        var future = await List(new JobsCommand.ListArguments(route, null, DateTimeOffset.UtcNow.AddHours(1).ToString("O", CultureInfo.InvariantCulture), null, 20, true));
        var past = await List(new JobsCommand.ListArguments(route, null, null, "2000-01-01", 20, true));

        Assert.Equal([failed, .. scored.Reverse()], all.Select(j => j.GetProperty("requestId").GetString()));
        Assert.All(all, j => Assert.Equal(route, j.GetProperty("route").GetString()));
        Assert.Equal(0, all.Single(j => j.GetProperty("requestId").GetString() == scored[0]).GetProperty("best").GetInt32());
        Assert.Equal("no_valid_samples", Assert.Single(onlyFailed).GetProperty("stop").GetString());
        Assert.Equal(failed, Assert.Single(newest).GetProperty("requestId").GetString());
        Assert.Equal(3, lastHour.Count);
        Assert.Empty(future);
        Assert.Empty(past);
    }

    [Fact]
    public async Task Jobs_list_prints_a_table()
    {
        var route = $"t.{Guid.NewGuid().ToString("N")[..8]}";
        var id = CliFixture.NewRequestId("t");
        await cli.Writer.WriteAsync(StoredJobs.Scored(id, route), CancellationToken.None);

        var run = await cli.Run(env => JobsCommand.ListAsync(new JobsCommand.ListArguments(route, null, null, null, 5, false), env, CancellationToken.None));

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        Assert.Contains("requestId", run.Stdout);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(run.Stdout, $@"{id}\s+{route}\s+scored\s+voting\s+2/3\s+early\s+0\s+4321\s+grm-tiny@1"), run.Stdout);
    }

    [Theory]
    [InlineData("done", null, "--status must be scored, rejected or failed")]
    [InlineData(null, "yesterday", "--since 'yesterday' is neither an ISO 8601 time")]
    public async Task Jobs_list_refuses_bad_filters_naming_the_option(string? status, string? since, string message)
    {
        var run = await cli.Run(env => JobsCommand.ListAsync(new JobsCommand.ListArguments(null, status, since, null, 5, false), env, CancellationToken.None));

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains(message, run.Stderr);
    }

    [Fact]
    public async Task The_grm_process_shows_a_stored_job_and_exits_3_for_an_unknown_one()
    {
        var id = CliFixture.NewRequestId("process");
        await cli.Writer.WriteAsync(StoredJobs.Scored(id, "process.route"), CancellationToken.None);

        var shown = await GrmProcess.RunAsync(cli.ConnectionString, "jobs", "show", id, "--json");
        var unknown = await GrmProcess.RunAsync(cli.ConnectionString, "jobs", "show", "no-such-request");

        Assert.True(shown.ExitCode == ExitCodes.Ok, shown.ToString());
        Assert.Equal(id, shown.Json.GetProperty("requestId").GetString());
        Assert.Equal(3, shown.Json.GetProperty("samples").GetArrayLength());
        Assert.Equal(ExitCodes.NotFound, unknown.ExitCode);
        Assert.Contains("grm jobs show: no stored job has requestId 'no-such-request'", unknown.Stderr);
    }

    private async Task<List<JsonElement>> List(JobsCommand.ListArguments args)
    {
        var run = await cli.Run(env => JobsCommand.ListAsync(args, env, CancellationToken.None));
        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        return [.. run.Json.GetProperty("jobs").EnumerateArray()];
    }

    private async Task<NpgsqlDataReader> ReadAsync(string sql, params object[] parameters)
    {
        var command = cli.Database.CreateCommand(sql);
        foreach (var p in parameters) command.Parameters.Add(new NpgsqlParameter { Value = p });
        return await command.ExecuteReaderAsync(System.Data.CommandBehavior.CloseConnection);
    }

    private async Task<List<T>> Column<T>(string sql, params object[] parameters)
    {
        await using var reader = await ReadAsync(sql, parameters);
        var values = new List<T>();
        while (await reader.ReadAsync()) values.Add(reader.GetFieldValue<T>(0));
        return values;
    }

    /// <summary>Each row as "a|b|c", numbers in invariant culture, NULL as "".</summary>
    private async Task<List<string>> Rows(string sql, params object[] parameters)
    {
        await using var reader = await ReadAsync(sql, parameters);
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "" : reader.GetValue(i) switch
            {
                double d => d.ToString("R", CultureInfo.InvariantCulture),
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                var v => v.ToString(),
            })));
        }
        return rows;
    }

    private static double? NullableDouble(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : e.GetDouble();

    private static string Text(JsonElement e) => e.ValueKind == JsonValueKind.Null ? "" : e.GetDouble().ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>`grm` as a child process (dotnet grm.dll from the test output) with the test database's settings.</summary>
internal static class GrmProcess
{
    public static async Task<CliRun> RunAsync(string connectionString, params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "grm.dll"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = ServiceSettings.RepoRoot,
        };
        start.Environment["GRM_POSTGRES__CONNECTIONSTRING"] = connectionString;
        start.Environment["GRM_MODEL__DIRECTORY"] = CliFixture.ModelDir;
        start.Environment["GRM_INFERENCE__INTRAOPTHREADS"] = "1";
        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        return new CliRun(process.ExitCode, await stdout, await stderr);
    }
}

/// <summary>Jobs written straight through JobWriter, with every kind of row (an unparsed sample, weights with and without a value).</summary>
internal static class StoredJobs
{
    public static JobRecord Scored(string requestId, string route, double?[]? metaScores = null)
    {
        var received = DateTimeOffset.UtcNow.AddSeconds(-5);
        metaScores ??= [0.9, 0.2, null];
        // Two responses; sample 2 did not parse. Request-order scores: sample 0 -> (7, 3), sample 1 -> (5, 4).
        int[][] scores = [[7, 3], [5, 4]];
        int[][] permutations = [[1, 0], [0, 1], [0, 1]];
        var samples = Enumerable.Range(0, 3).Select(s => new SampleRecord
        {
            SampleIndex = s,
            Seed = 11 * (s + 1),
            Permutation = permutations[s],
            RawText = s < 2 ? $"Specific Criteria: ...\nScores: \\boxed{{{scores[s][permutations[s][0]]}, {scores[s][permutations[s][1]]}}}" : "Scores: \\boxed{3}",
            ParseStatus = s < 2 ? "ok" : "wrong_count",
            ParseReason = s < 2 ? null : "expected 2 scores, found 1",
            MetaScore = metaScores[s],
            PromptTokens = 300 + s,
            GeneratedTokens = 40 + s,
            LatencyMs = 12.5 + s,
            PromptVersion = "grm-pointwise-v1",
            Principles = [new PrincipleRecord(0, $"Accuracy of sample {s}", 0.7), new PrincipleRecord(1, $"Tone of sample {s}", s == 0 ? 0.3 : null)],
            Critiques = [new CritiqueRecord(0, $"Critique of response 0 by sample {s}"), new CritiqueRecord(1, $"Critique of response 1 by sample {s}")],
            Scores = s < 2 ? [new ScoreRecord(0, scores[s][0]), new ScoreRecord(1, scores[s][1])] : [],
        }).ToList();
        return new JobRecord
        {
            RequestId = requestId,
            Route = route,
            Status = "scored",
            RequestJson = JsonSerializer.Serialize(new { requestId, route, query = "What is 2+2?", responses = new[] { "4", "5" } }),
            ResultJson = JsonSerializer.Serialize(new
            {
                requestId, route, status = "scored", rewards = new[] { 6.0, 3.5 }, voteSums = new[] { 12, 7 }, best = 0,
                samplesUsed = 3, samplesValid = 2, stoppedEarly = true, aggregation = "voting", modelId = "grm-tiny@1",
                latencyMs = 4321, tokens = new { prompt = 903, generated = 123 }, metadata = new { step = 9 },
            }),
            ModelId = "grm-tiny@1",
            PromptVersion = "grm-pointwise-v1",
            Aggregation = "voting",
            SamplesUsed = 3,
            SamplesValid = 2,
            StoppedEarly = true,
            LatencyMs = 4321.25,
            PromptTokens = 903,
            GeneratedTokens = 123,
            ReceivedAt = received,
            CompletedAt = received.AddSeconds(4.32125),
            Responses = ["4", "5"],
            Samples = samples,
            Rewards = [new RewardRecord("voting", 0, 6, 12), new RewardRecord("voting", 1, 3.5, 7)],
        };
    }

    public static JobRecord Failed(string requestId, string route)
    {
        var received = DateTimeOffset.UtcNow.AddSeconds(-1);
        return new JobRecord
        {
            RequestId = requestId,
            Route = route,
            Status = "failed",
            ErrorCode = "no_valid_samples",
            ErrorMessage = "none of the 1 samples could be parsed",
            RequestJson = JsonSerializer.Serialize(new { requestId, route, query = "q", responses = new[] { "a", "b" } }),
            ResultJson = JsonSerializer.Serialize(new { requestId, route, status = "failed", error = new { code = "no_valid_samples", message = "none" } }),
            ModelId = "grm-tiny@1",
            PromptVersion = "grm-pointwise-v1",
            Aggregation = "voting",
            SamplesUsed = 1,
            ReceivedAt = received,
            CompletedAt = received.AddSeconds(1),
            Responses = ["a", "b"],
            Samples =
            [
                new SampleRecord
                {
                    SampleIndex = 0, Seed = 5, Permutation = [0, 1], RawText = "???", ParseStatus = "missing_scores",
                    ParseReason = "no 'Scores:' line", PromptTokens = 10, GeneratedTokens = 3, LatencyMs = 1, PromptVersion = "grm-pointwise-v1",
                },
            ],
        };
    }
}
