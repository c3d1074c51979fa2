using System.Text.Json;
using GrmWorker.Cli.Commands;
using GrmWorker.Worker.Runs;

namespace GrmWorker.Worker.Tests;

/// <summary>`grm score` in-process: the worker's pipeline, stored by JobWriter, printed as stored; rejections and outages.</summary>
public sealed class ScoreCommandTests(CliFixture cli) : IClassFixture<CliFixture>
{
    private static readonly string[] Responses = ["Paris", "Lyon", "Marseille"];
    private const string Query = "What is the capital of France?";

    [Fact]
    public async Task Score_stores_a_job_whose_rows_match_what_it_printed()
    {
        var id = CliFixture.NewRequestId("score");
        const long seed = 101;
        // Sample j gives response i a score that depends on both, so samples differ and permutations matter.
        cli.Canned.AddScored(id, seed, Responses.Length, 4, (j, i) => 1 + ((3 * i) + j) % 10);

        var run = await cli.Run(env => ScoreCommand.RunAsync(Args(id, seed, k: 4) with { Json = true }, env, CancellationToken.None));

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        var printed = run.Json;
        Assert.Equal("scored", printed.GetProperty("status").GetString());
        var jobId = printed.GetProperty("jobId").GetInt64();
        Assert.Equal(jobId, await cli.ScalarAsync<long>("SELECT id FROM scoring_jobs WHERE request_id = $1", id));
        Assert.Equal(Query, printed.GetProperty("query").GetString());
        Assert.Equal(Responses, printed.GetProperty("responses").EnumerateArray().Select(r => r.GetString()));

        var samples = printed.GetProperty("samples").EnumerateArray().ToArray();
        Assert.Equal(4, samples.Length);
        Assert.Equal(4L, await cli.ScalarAsync<long>("SELECT count(*) FROM grm_samples WHERE job_id = $1", jobId));
        foreach (var s in samples)
        {
            var index = s.GetProperty("index").GetInt32();
            Assert.Equal(s.GetProperty("seed").GetInt64(), await SampleValue<long>(jobId, index, "seed"));
            Assert.Equal(s.GetProperty("permutation").EnumerateArray().Select(p => p.GetInt32()), await SampleValue<int[]>(jobId, index, "permutation"));
            Assert.Equal("ok", s.GetProperty("parseStatus").GetString());
            Assert.Equal(s.GetProperty("metaScore").GetDouble(), await SampleValue<double>(jobId, index, "meta_score"));
            Assert.Equal(s.GetProperty("rawText").GetString(), await SampleValue<string>(jobId, index, "raw_text"));
            foreach (var judgement in s.GetProperty("judgements").EnumerateArray())
            {
                var response = judgement.GetProperty("responseIndex").GetInt32();
                Assert.Equal(1 + ((3 * response) + index) % 10, judgement.GetProperty("score").GetInt32());
                Assert.Equal((short)judgement.GetProperty("score").GetInt32(), await cli.ScalarAsync<short>(
                    "SELECT score FROM scores WHERE job_id = $1 AND sample_index = $2 AND response_index = $3", jobId, index, response));
                Assert.Equal(judgement.GetProperty("critique").GetString(), await cli.ScalarAsync<string>(
                    "SELECT text FROM critiques WHERE job_id = $1 AND sample_index = $2 AND response_index = $3", jobId, index, response));
            }
            var principles = s.GetProperty("principles").EnumerateArray().ToArray();
            Assert.Equal(4, principles.Length);
            Assert.Equal(0.4, principles[0].GetProperty("weight").GetDouble(), 9);
            Assert.Equal(principles.Select(p => p.GetProperty("text").GetString()), await cli.ScalarAsync<string[]>(
                "SELECT array_agg(text ORDER BY ordinal) FROM principles WHERE job_id = $1 AND sample_index = $2", jobId, index));
        }

        // Rewards: the mean score per response over the 4 samples, printed and stored under 'voting'.
        double[] expected = [.. Enumerable.Range(0, 3).Select(i => Enumerable.Range(0, 4).Average(j => 1 + ((3 * i) + j) % 10))];
        var voting = Assert.Single(printed.GetProperty("rewards").EnumerateArray());
        Assert.Equal("voting", voting.GetProperty("strategy").GetString());
        Assert.Equal(expected, voting.GetProperty("rewards").EnumerateArray().Select(v => v.GetDouble()));
        Assert.Equal(expected, await cli.RewardsAsync(id, "voting"));
    }

    [Fact]
    public async Task Score_prints_samples_principles_critiques_and_the_rewards_table()
    {
        var id = CliFixture.NewRequestId("score-text");
        cli.Canned.AddScored(id, 102, Responses.Length, 2, (_, i) => 9 - (3 * i));

        var run = await cli.Run(env => ScoreCommand.RunAsync(Args(id, 102, k: 2), env, CancellationToken.None));

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        Assert.Contains(id, run.Stdout);
        Assert.Contains("sample 0 · seed", run.Stdout);
        Assert.Contains("sample 1 · seed", run.Stdout);
        Assert.Contains("Correctness: the answer is factually", run.Stdout);
        Assert.Contains("40%", run.Stdout);
        Assert.Contains("earns 9 of 10", run.Stdout);
        Assert.Contains("rewards", run.Stdout);
        Assert.Matches(@"voting\s+│\s+9 \(Σ 18\)\s+│\s+6 \(Σ 12\)\s+│\s+3 \(Σ 6\)\s+│\s+0", run.Stdout);
    }

    [Fact]
    public async Task Score_with_no_store_writes_nothing_and_needs_no_database()
    {
        var id = CliFixture.NewRequestId("nostore");
        cli.Canned.AddScored(id, 103, Responses.Length, 2, (_, i) => i + 1);
        var noDatabase = new Dictionary<string, string?> { ["Postgres:ConnectionString"] = "" };

        var run = await cli.Run(env => ScoreCommand.RunAsync(Args(id, 103, k: 2) with { NoStore = true, Json = true }, env, CancellationToken.None), noDatabase);

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        Assert.Equal(JsonValueKind.Null, run.Json.GetProperty("jobId").ValueKind);
        Assert.Equal([1.0, 2.0, 3.0], run.Json.GetProperty("rewards")[0].GetProperty("rewards").EnumerateArray().Select(v => v.GetDouble()));
        Assert.Equal(0L, await cli.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = $1", id));
    }

    [Fact]
    public async Task Score_with_Postgres_unreachable_names_the_setting_and_the_no_store_alternative()
    {
        var unreachable = new Dictionary<string, string?>
        {
            ["Postgres:ConnectionString"] = "Host=127.0.0.1;Port=1;Database=grm;Username=grm;Password=x;Timeout=3",
        };

        var run = await cli.Run(env => ScoreCommand.RunAsync(Args(CliFixture.NewRequestId("down"), 1, k: 1), env, CancellationToken.None), unreachable);

        Assert.Equal(ExitCodes.Unavailable, run.ExitCode);
        Assert.Contains("GRM_POSTGRES__CONNECTIONSTRING", run.Stderr);
        Assert.Contains("127.0.0.1:1/grm", run.Stderr);
        Assert.Contains("--no-store", run.Stderr);
        Assert.DoesNotContain("Password", run.Stderr);
    }

    [Fact]
    public async Task Score_without_a_database_setting_says_which_setting_to_set()
    {
        var run = await cli.Run(env => ScoreCommand.RunAsync(Args(CliFixture.NewRequestId("unset"), 1, k: 1), env, CancellationToken.None),
            new Dictionary<string, string?> { ["Postgres:ConnectionString"] = "" });

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("GRM_POSTGRES__CONNECTIONSTRING", run.Stderr);
        Assert.Contains("--no-store", run.Stderr);
    }

    [Fact]
    public async Task A_rejected_request_prints_its_code_and_the_option_and_stores_nothing()
    {
        var id = CliFixture.NewRequestId("reject");

        var run = await cli.Run(env => ScoreCommand.RunAsync(Args(id, 1, k: 0), env, CancellationToken.None));

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("rejected: invalid_request: kMax must be 1..", run.Stderr);
        Assert.Contains("(option --k)", run.Stderr);
        Assert.Equal("", run.Stdout);
        Assert.Equal(0L, await cli.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = $1", id));
    }

    [Fact]
    public async Task A_stored_request_id_is_not_scored_again()
    {
        var id = CliFixture.NewRequestId("twice");
        cli.Canned.AddScored(id, 104, Responses.Length, 1, (_, i) => i + 2);
        var first = await cli.Run(env => ScoreCommand.RunAsync(Args(id, 104, k: 1), env, CancellationToken.None));
        Assert.True(first.ExitCode == ExitCodes.Ok, first.ToString());

        var second = await cli.Run(env => ScoreCommand.RunAsync(Args(id, 104, k: 1), env, CancellationToken.None));

        Assert.Equal(ExitCodes.BadInput, second.ExitCode);
        Assert.Contains("is stored already", second.Stderr);
        Assert.Equal(1L, await cli.ScalarAsync<long>("SELECT count(*) FROM grm_samples s JOIN scoring_jobs j ON j.id = s.job_id WHERE j.request_id = $1", id));
    }

    [Fact]
    public async Task With_the_bundled_random_model_the_job_fails_honestly_and_is_stored_with_its_samples()
    {
        var id = CliFixture.NewRequestId("real");

        var run = await cli.Run(
            env => ScoreCommand.RunAsync(Args(id, 5, k: 1) with { MaxNewTokens = 4, Json = true }, env, CancellationToken.None),
            realModel: true);

        Assert.True(run.ExitCode == ExitCodes.Failure, run.ToString());
        Assert.Equal("failed", run.Json.GetProperty("status").GetString());
        Assert.Equal("no_valid_samples", run.Json.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("no_valid_samples", run.Stderr);
        Assert.Equal("failed", await cli.ScalarAsync<string>("SELECT status FROM scoring_jobs WHERE request_id = $1", id));
        Assert.Equal(1L, await cli.ScalarAsync<long>("SELECT count(*) FROM grm_samples s JOIN scoring_jobs j ON j.id = s.job_id WHERE j.request_id = $1", id));
    }

    [Fact]
    public async Task The_grm_process_takes_repeated_responses_and_scores_without_storing()
    {
        var run = await GrmProcess.RunAsync("", "score", "--query", "2+2?", "--response", "4", "--response", "five", "--k", "1",
            "--max-new-tokens", "4", "--stopping", "none", "--no-store", "--json");

        // The bundled model has random weights: its one sample does not parse, and the job ends failed (exit 1).
        Assert.True(run.ExitCode == ExitCodes.Failure, run.ToString());
        Assert.Equal(["4", "five"], run.Json.GetProperty("responses").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(1, run.Json.GetProperty("samplesUsed").GetInt32());
        Assert.Equal(JsonValueKind.Null, run.Json.GetProperty("jobId").ValueKind);
    }

    internal static ScoreCommand.Arguments Args(string requestId, long seed, int k, string? aggregation = null) => new()
    {
        Query = Query,
        Responses = Responses,
        RequestId = requestId,
        Seed = seed,
        K = k,
        Stopping = "none",
        Aggregation = aggregation,
    };

    private Task<T?> SampleValue<T>(long jobId, int index, string column) =>
        cli.ScalarAsync<T>($"SELECT {column} FROM grm_samples WHERE job_id = $1 AND sample_index = $2", jobId, index);
}
