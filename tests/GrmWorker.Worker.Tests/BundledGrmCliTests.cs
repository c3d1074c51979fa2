
using GrmWorker.Cli.Commands;
using GrmWorker.Worker.Runs;

namespace GrmWorker.Worker.Tests;

/// <summary>
/// `grm score`, `grm replay` and `grm jobs show` with the bundled trained GRM and meta-RM (models/grm-tiny) generating
/// for real, against the local Postgres: what replay computes from stored samples equals what a fresh run computes.
/// </summary>
public sealed class BundledGrmCliTests(CliFixture cli) : IClassFixture<CliFixture>
{
    private const string Query = "Convert 12 km to m.";
    private static readonly string[] Responses = ["1200 m", "1 km is 1000 m, so 12 km is 12000 m.", "1 km is 1000 m, so 12 km is 11000 m."];

    private static readonly Dictionary<string, string?> BundledModel = new()
    {
        ["Model:Directory"] = BundledGrmWorkerFixture.ModelDir,
        ["Model:MetaRmDirectory"] = Path.Combine(BundledGrmWorkerFixture.ModelDir, "meta-rm"),
    };

    [Fact]
    public async Task Replaying_a_bundled_grm_job_with_meta_rm_equals_a_fresh_meta_rm_run_of_the_same_request()
    {
        var stored = CliFixture.NewRequestId("grm-voted");
        var fresh = CliFixture.NewRequestId("grm-meta");
        const long seed = 303;
        var voted = await Score(Args(stored, seed));
        var metaRun = await Score(Args(fresh, seed) with { Aggregation = "meta-rm" });

        var replay = await cli.Run(env => ReplayCommand.RunAsync(
            new ReplayCommand.Arguments { RequestIds = [stored], Aggregation = "meta-rm", Json = true }, env, CancellationToken.None), BundledModel);

        Assert.True(replay.ExitCode == ExitCodes.Ok, replay.ToString());
        Assert.Equal("scored", voted.Json.GetProperty("status").GetString());
        Assert.Equal("scored", metaRun.Json.GetProperty("status").GetString());
        // Same seed, same engine: the same 8 samples, so the same meta scores and the same voters.
        Assert.Equal(await SampleTexts(stored), await SampleTexts(fresh));
        var expected = await cli.RewardsAsync(fresh, "meta-rm");
        Assert.Equal(3, expected.Length);
        Assert.Equal(expected, await cli.RewardsAsync(stored, "meta-rm"));
        var valid = voted.Json.GetProperty("samplesValid").GetInt32();
        Assert.Equal((valid + 1) / 2, replay.Json.GetProperty("jobs")[0].GetProperty("votingSamples").GetArrayLength());
        Assert.Equal(metaRun.Json.GetProperty("result").GetProperty("best").GetInt32(), replay.Json.GetProperty("jobs")[0].GetProperty("best").GetInt32());
    }

    [Fact]
    public async Task Jobs_show_of_a_bundled_grm_job_matches_its_stored_scores_and_critiques()
    {
        var id = CliFixture.NewRequestId("grm-show");
        var scored = await Score(Args(id, 304));

        var shown = await cli.Run(env => JobsCommand.ShowAsync(new JobsCommand.ShowArguments(id, RawText: false, Json: true), env, CancellationToken.None), BundledModel);

        Assert.True(shown.ExitCode == ExitCodes.Ok, shown.ToString());
        var samples = shown.Json.GetProperty("samples").EnumerateArray().ToArray();
        Assert.Equal(scored.Json.GetProperty("samples").GetArrayLength(), samples.Length);
        Assert.Contains(samples, s => s.GetProperty("valid").GetBoolean());
        foreach (var sample in samples.Where(s => s.GetProperty("valid").GetBoolean()))
        {
            var index = sample.GetProperty("index").GetInt32();
            Assert.Equal("ok", sample.GetProperty("parseStatus").GetString());
            Assert.NotEmpty(sample.GetProperty("principles").EnumerateArray());
            Assert.Equal(Responses.Length, sample.GetProperty("judgements").GetArrayLength());
            foreach (var judgement in sample.GetProperty("judgements").EnumerateArray())
            {
                var response = judgement.GetProperty("responseIndex").GetInt32();
                Assert.Equal((short)judgement.GetProperty("score").GetInt32(), await cli.ScalarAsync<short>(
                    "SELECT s.score FROM scores s JOIN scoring_jobs j ON j.id = s.job_id WHERE j.request_id = $1 AND s.sample_index = $2 AND s.response_index = $3",
                    id, index, response));
                Assert.Equal(judgement.GetProperty("critique").GetString(), await cli.ScalarAsync<string>(
                    "SELECT c.text FROM critiques c JOIN scoring_jobs j ON j.id = c.job_id WHERE j.request_id = $1 AND c.sample_index = $2 AND c.response_index = $3",
                    id, index, response));
            }
        }
    }

    private async Task<CliRun> Score(ScoreCommand.Arguments args)
    {
        var run = await cli.Run(env => ScoreCommand.RunAsync(args, env, CancellationToken.None), BundledModel, realModel: true);
        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        return run;
    }

    private Task<string[]?> SampleTexts(string requestId) => cli.ScalarAsync<string[]>(
        "SELECT array_agg(s.raw_text ORDER BY s.sample_index) FROM grm_samples s JOIN scoring_jobs j ON j.id = s.job_id WHERE j.request_id = $1", requestId);

    private static ScoreCommand.Arguments Args(string requestId, long seed) => new()
    {
        Query = Query,
        Responses = Responses,
        RequestId = requestId,
        Seed = seed,
        K = 8,
        Stopping = "none",
        Json = true,
    };
}
