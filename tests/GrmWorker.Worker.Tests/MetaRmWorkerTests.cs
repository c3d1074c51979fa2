using GrmWorker.Inference;
using GrmWorker.Scoring.Prompting;
using GrmWorker.Scoring.Sampling;
using GrmWorker.Testing;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace GrmWorker.Worker.Tests;

[CollectionDefinition(Name)]
public sealed class MetaRmWorkerCollection : ICollectionFixture<MetaRmWorkerFixture>
{
    public const string Name = "meta-rm-worker";
}

/// <summary>
/// The in-process worker with replayed GRM texts (so samples parse) and the real bundled meta-RM
/// (models/tiny-random/meta-rm, random weights), loaded the way `grm serve` loads it from Model:MetaRmDirectory.
/// </summary>
public sealed class MetaRmWorkerFixture : WorkerFixture
{
    public static string ModelDir => Path.Combine(ServiceSettings.RepoRoot, "models", "tiny-random");

    public CannedGrmGenerator Canned { get; } = CannedGrmGenerator.Load(ModelDir);

    public MetaRmScorer MetaRm { get; } = MetaRmScorer.Load(
        Options.Create(new ModelOptions { Directory = ModelDir, MetaRmDirectory = Path.Combine(ModelDir, "meta-rm") }),
        Options.Create(new InferenceOptions { IntraOpThreads = 1 })) ?? throw new InvalidOperationException("the setting names a meta-RM");

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.Replace(ServiceDescriptor.Singleton<IGrmGenerator>(Canned));
        services.Replace(ServiceDescriptor.Singleton(MetaScorerAvailability.Loaded(MetaRm)));
    }
}

/// <summary>Meta-RM voting end to end: every valid sample gets a stored meta score, and only the top half by it vote.</summary>
[Collection(MetaRmWorkerCollection.Name)]
public sealed class MetaRmWorkerTests(MetaRmWorkerFixture worker)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly string[] Responses = ["first", "second", "third"];
    private const string Query = "Which answer is best?";
    private const long Seed = 11;

    [Fact]
    public async Task A_meta_rm_job_is_scored_by_the_top_half_of_its_valid_samples_by_meta_score()
    {
        var (id, json) = await ScoreAsync("meta-rm");

        Assert.Equal("scored", json.GetProperty("status").GetString());
        Assert.Equal("meta-rm", json.GetProperty("aggregation").GetString());
        Assert.Equal(5, json.GetProperty("samplesUsed").GetInt32());
        Assert.Equal(4, json.GetProperty("samplesValid").GetInt32());

        var samples = await SamplesAsync(id);
        Assert.All(samples.Where(s => s.Valid), s => Assert.NotNull(s.MetaScore));
        Assert.Null(Assert.Single(samples, s => !s.Valid).MetaScore);
        // The 2 of 4 valid samples with the highest meta scores vote (ties: lower index); reward = their mean score.
        var voters = samples.Where(s => s.Valid).OrderByDescending(s => s.MetaScore).ThenBy(s => s.Index).Take(2).ToArray();
        var expected = Enumerable.Range(0, Responses.Length).Select(i => voters.Average(v => (double)Score(v.Index, i))).ToArray();
        Assert.Equal(expected, json.GetProperty("rewards").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(string.Join(",", expected), await worker.ScalarAsync<string>(
            "SELECT string_agg(r.value::text, ',' ORDER BY r.response_index) FROM rewards r JOIN scoring_jobs j ON j.id = r.job_id " +
            "WHERE j.request_id = $1 AND r.strategy = 'meta-rm'", id));
        Assert.Equal(0L, await worker.ScalarAsync<long>(
            "SELECT count(*) FROM rewards r JOIN scoring_jobs j ON j.id = r.job_id WHERE j.request_id = $1 AND r.strategy <> 'meta-rm'", id));
    }

    [Fact]
    public async Task Stored_meta_scores_are_the_meta_rm_score_of_the_sample_in_its_shown_order()
    {
        var (id, json) = await ScoreAsync("voting");

        Assert.Equal("scored", json.GetProperty("status").GetString());
        var valid = (await SamplesAsync(id)).Where(s => s.Valid).ToArray();
        Assert.Equal(4, valid.Length);
        var texts = valid.Select(s => MetaRmInput.Build(Query, new Permutation(s.Permutation).ToShown(Responses), s.RawText)).ToArray();
        var direct = await worker.MetaRm.ScoreAsync(texts, CancellationToken.None);
        for (var i = 0; i < valid.Length; i++)
            Assert.Equal(direct[i], valid[i].MetaScore!.Value, 1e-6);
        // A voting job keeps voting rewards; its meta scores are there for a later replay with meta-rm.
        Assert.Equal(3L, await worker.ScalarAsync<long>(
            "SELECT count(*) FROM rewards r JOIN scoring_jobs j ON j.id = r.job_id WHERE j.request_id = $1 AND r.strategy = 'voting'", id));
    }

    // Samples disagree, so which ones vote changes the rewards.
    private static int Score(int sample, int response) => 1 + ((sample * 3) + (response * 4)) % 10;

    private async Task<(string Id, System.Text.Json.JsonElement Json)> ScoreAsync(string aggregation)
    {
        var route = WorkerFixture.NewRoute();
        var results = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, route);
        var id = WorkerFixture.NewRequestId();
        worker.Canned.AddScored(id, Seed, Responses.Length, 4, Score);
        worker.Canned.Add(id, Seed, 4, "I cannot decide."); // a fifth sample that does not parse
        await worker.Amqp.PublishAsync(worker.ScoreQueue, new
        {
            requestId = id, route, query = Query, responses = Responses, kMax = 5, kMin = 5, stopping = "none", seed = Seed,
            maxNewTokens = 256, aggregation,
        });
        return (id, Assert.Single(await worker.Amqp.ReadAsync(results, 1, Wait)).Json);
    }

    private async Task<List<StoredSample>> SamplesAsync(string requestId)
    {
        await using var command = worker.Database.CreateCommand(
            "SELECT s.sample_index, s.permutation, s.raw_text, s.parse_status, s.meta_score FROM grm_samples s " +
            "JOIN scoring_jobs j ON j.id = s.job_id WHERE j.request_id = $1 ORDER BY s.sample_index");
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = requestId });
        await using var reader = await command.ExecuteReaderAsync();
        var samples = new List<StoredSample>();
        while (await reader.ReadAsync())
        {
            samples.Add(new StoredSample(reader.GetInt32(0), reader.GetFieldValue<int[]>(1), reader.GetString(2),
                reader.GetString(3) == "ok", reader.IsDBNull(4) ? null : reader.GetDouble(4)));
        }
        return samples;
    }

    private sealed record StoredSample(int Index, int[] Permutation, string RawText, bool Valid, double? MetaScore);
}
