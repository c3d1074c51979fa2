using System.Text.Json;
using GrmWorker.Cli.Commands;
using GrmWorker.Worker.Runs;

namespace GrmWorker.Worker.Tests;

/// <summary>
/// `grm replay` in-process: rewards recomputed from stored samples equal a fresh run of the same job (same seed, so
/// the same samples) at that k or with that aggregation; new rows per strategy, old ones kept, never twice; --publish.
/// </summary>
public sealed class ReplayCommandTests(CliFixture cli) : IClassFixture<CliFixture>
{
    private const string MetaRmModelId = "tiny-random-meta-rm-v1";

    // Samples 0..2 favour response 0, samples 3..5 strongly favour response 2: all six make 2 the best, the first three make 0.
    private static int Score(int sample, int response) => sample < 3 ? new[] { 9, 5, 2 }[response] : new[] { 1, 4, 10 }[response];

    [Fact]
    public async Task Replaying_voting_at_a_smaller_k_equals_a_fresh_run_with_that_k()
    {
        var stored = CliFixture.NewRequestId("k6");
        var fresh = CliFixture.NewRequestId("k3");
        const long seed = 201;
        cli.Canned.AddScored(stored, seed, 3, 6, Score);
        await ScoreAsync(ScoreCommandTests.Args(stored, seed, k: 6));
        await ScoreAsync(ScoreCommandTests.Args(fresh, seed, k: 3));

        var run = await Replay(new ReplayCommand.Arguments { RequestIds = [stored], Aggregation = "voting", K = 3, Json = true });

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        var report = run.Json;
        Assert.Equal("voting@k3", report.GetProperty("strategy").GetString());
        Assert.Equal(1, report.GetProperty("replayed").GetInt32());
        Assert.Equal(1, report.GetProperty("written").GetInt32());
        Assert.Equal(1, report.GetProperty("bestChanged").GetInt32());
        var job = Assert.Single(report.GetProperty("jobs").EnumerateArray());
        Assert.Equal(2, job.GetProperty("storedBest").GetInt32());
        Assert.Equal(0, job.GetProperty("best").GetInt32());
        Assert.Equal([0, 1, 2], job.GetProperty("votingSamples").EnumerateArray().Select(v => v.GetInt32()));

        Assert.Equal(new[] { 9.0, 5.0, 2.0 }, await cli.RewardsAsync(fresh, "voting"));
        Assert.Equal(await cli.RewardsAsync(fresh, "voting"), await cli.RewardsAsync(stored, "voting@k3"));
        // The job's own rows stay as they were.
        Assert.Equal(new[] { 5.0, 4.5, 6.0 }, await cli.RewardsAsync(stored, "voting"));
    }

    [Fact]
    public async Task Replaying_with_the_meta_rm_model_equals_a_fresh_meta_rm_run()
    {
        var stored = CliFixture.NewRequestId("voted");
        var fresh = CliFixture.NewRequestId("meta");
        const long seed = 202;
        cli.Canned.AddScored(stored, seed, 3, 6, Score);
        await ScoreAsync(ScoreCommandTests.Args(stored, seed, k: 6));
        await ScoreAsync(ScoreCommandTests.Args(fresh, seed, k: 6, aggregation: "meta-rm"));

        var rescored = await Replay(new ReplayCommand.Arguments
        {
            RequestIds = [stored], Aggregation = "meta-rm", MetaRm = CliFixture.MetaRmDir, Json = true,
        });
        var fromStoredScores = await Replay(new ReplayCommand.Arguments { RequestIds = [stored], Aggregation = "meta-rm", Json = true });

        Assert.True(rescored.ExitCode == ExitCodes.Ok, rescored.ToString());
        Assert.True(fromStoredScores.ExitCode == ExitCodes.Ok, fromStoredScores.ToString());
        Assert.Equal($"meta-rm:{MetaRmModelId}", rescored.Json.GetProperty("strategy").GetString());
        Assert.Equal("meta-rm", fromStoredScores.Json.GetProperty("strategy").GetString());
        // k_meta = half of the 6 valid samples vote.
        Assert.Equal(3, rescored.Json.GetProperty("jobs")[0].GetProperty("votingSamples").GetArrayLength());
        var expected = await cli.RewardsAsync(fresh, "meta-rm");
        Assert.Equal(3, expected.Length);
        // Any 3 of these 6 samples give other means than all 6 do, so this compares a real choice of voters.
        Assert.NotEqual(await cli.RewardsAsync(stored, "voting"), expected);
        Assert.Equal(expected, await cli.RewardsAsync(stored, $"meta-rm:{MetaRmModelId}"));
        Assert.Equal(expected, await cli.RewardsAsync(stored, "meta-rm"));
    }

    [Fact]
    public async Task Running_the_same_replay_again_adds_no_rows()
    {
        var id = CliFixture.NewRequestId("again");
        await cli.Writer.WriteAsync(StoredJobs.Scored(id, "replay.again"), CancellationToken.None);
        var args = new ReplayCommand.Arguments { RequestIds = [id], Aggregation = "voting", K = 1, Json = true };

        var first = await Replay(args);
        var second = await Replay(args);

        Assert.True(first.ExitCode == ExitCodes.Ok, first.ToString());
        Assert.True(second.ExitCode == ExitCodes.Ok, second.ToString());
        Assert.Equal(1, first.Json.GetProperty("written").GetInt32());
        Assert.Equal(0, second.Json.GetProperty("written").GetInt32());
        Assert.Equal(1, second.Json.GetProperty("alreadyStored").GetInt32());
        Assert.Equal(new[] { 7.0, 3.0 }, await cli.RewardsAsync(id, "voting@k1"));
        Assert.Equal(2L, await cli.ScalarAsync<long>(
            "SELECT count(*) FROM rewards r JOIN scoring_jobs j ON j.id = r.job_id WHERE j.request_id = $1 AND r.strategy = 'voting@k1'", id));
        Assert.Equal(4L, await cli.ScalarAsync<long>(
            "SELECT count(*) FROM rewards r JOIN scoring_jobs j ON j.id = r.job_id WHERE j.request_id = $1", id));
    }

    [Fact]
    public async Task Meta_rm_without_stored_meta_scores_fails_that_job_and_replays_the_others()
    {
        var route = $"replay.meta.{Guid.NewGuid():N}";
        var without = CliFixture.NewRequestId("nometa");
        var with = CliFixture.NewRequestId("meta");
        await cli.Writer.WriteAsync(StoredJobs.Scored(without, route, metaScores: [null, null, null]), CancellationToken.None);
        await cli.Writer.WriteAsync(StoredJobs.Scored(with, route), CancellationToken.None);

        var run = await Replay(new ReplayCommand.Arguments { Route = route, Aggregation = "meta-rm", Json = true });

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Contains($"job '{without}'", run.Stderr);
        Assert.Contains("--meta-rm DIR", run.Stderr);
        Assert.Equal(1, run.Json.GetProperty("failed").GetInt32());
        Assert.Equal(1, run.Json.GetProperty("replayed").GetInt32());
        Assert.Empty(await cli.RewardsAsync(without, "meta-rm"));
        // Meta scores 0.9 and 0.2: the top one of the two valid samples votes (sample 0: 7, 3).
        Assert.Equal(new[] { 7.0, 3.0 }, await cli.RewardsAsync(with, "meta-rm"));
    }

    [Fact]
    public async Task Jobs_that_were_not_scored_are_skipped_with_the_reason()
    {
        var route = $"replay.skip.{Guid.NewGuid():N}";
        var failed = CliFixture.NewRequestId("failed");
        var scored = CliFixture.NewRequestId("scored");
        await cli.Writer.WriteAsync(StoredJobs.Failed(failed, route), CancellationToken.None);
        await cli.Writer.WriteAsync(StoredJobs.Scored(scored, route), CancellationToken.None);

        var run = await Replay(new ReplayCommand.Arguments { Route = route, Since = "1h", Aggregation = "voting", K = 2 });

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        Assert.Matches($@"{failed}\s+│\s+skipped: not scored \(failed: no_valid_samples\)", run.Stdout);
        Assert.Matches($@"{scored}\s+│\s+replayed\s+│\s+2 voted / 2 valid / 2\s+│\s+6\s+3\.5\s+│\s+0 -> 0\s+│\s+written", run.Stdout);
        Assert.Matches(@"skipped \(not scored, no valid sample\)\s+│\s+1", run.Stdout);
        Assert.Empty(await cli.RewardsAsync(failed, "voting@k2"));
    }

    [Fact]
    public async Task Replay_with_publish_sends_the_result_with_its_strategy_to_the_exchange()
    {
        var route = WorkerFixture.NewRoute();
        var queue = await cli.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, route);
        var id = CliFixture.NewRequestId("publish");
        await cli.Writer.WriteAsync(StoredJobs.Scored(id, route), CancellationToken.None);

        var run = await Replay(new ReplayCommand.Arguments { RequestIds = [id], Aggregation = "voting", K = 1, Publish = true, Json = true });

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        Assert.Equal(1, run.Json.GetProperty("published").GetInt32());
        var message = Assert.Single(await cli.Amqp.ReadAsync(queue, 1, TimeSpan.FromSeconds(30)));
        Assert.Equal(route, message.RoutingKey);
        var result = message.Json;
        Assert.Equal(id, result.GetProperty("requestId").GetString());
        Assert.Equal("voting@k1", result.GetProperty("strategy").GetString());
        Assert.Equal("scored", result.GetProperty("status").GetString());
        Assert.Equal("voting", result.GetProperty("aggregation").GetString());
        Assert.Equal([7.0, 3.0], result.GetProperty("rewards").EnumerateArray().Select(v => v.GetDouble()));
        Assert.Equal([7, 3], result.GetProperty("voteSums").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Equal(0, result.GetProperty("best").GetInt32());
        Assert.Equal(1, result.GetProperty("samplesUsed").GetInt32());
        Assert.Equal(9, result.GetProperty("metadata").GetProperty("step").GetInt32());
        Assert.Equal("grm-tiny@1", result.GetProperty("modelId").GetString());
    }

    [Fact]
    public async Task An_unknown_request_id_exits_with_not_found()
    {
        var run = await Replay(new ReplayCommand.Arguments { RequestIds = ["no-such-job"], Aggregation = "voting" });

        Assert.Equal(ExitCodes.NotFound, run.ExitCode);
        Assert.Contains("no stored job has requestId 'no-such-job'", run.Stderr);
    }

    [Theory]
    [InlineData(null, null, "choose the jobs to replay")]
    [InlineData(0, null, "--k must be at least 1")]
    [InlineData(null, "models/x", "--meta-rm needs --aggregation meta-rm")]
    public async Task Bad_arguments_are_refused_naming_the_option(int? k, string? metaRm, string message)
    {
        var run = await Replay(new ReplayCommand.Arguments
        {
            RequestIds = k is null && metaRm is null ? [] : ["x"], Aggregation = "voting", K = k, MetaRm = metaRm,
        });

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains(message, run.Stderr);
    }

    private async Task ScoreAsync(ScoreCommand.Arguments args)
    {
        var run = await cli.Run(env => ScoreCommand.RunAsync(args with { Json = true }, env, CancellationToken.None));
        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        Assert.Equal("scored", run.Json.GetProperty("status").GetString());
    }

    private Task<CliRun> Replay(ReplayCommand.Arguments args) =>
        cli.Run(env => ReplayCommand.RunAsync(args, env, CancellationToken.None));
}
