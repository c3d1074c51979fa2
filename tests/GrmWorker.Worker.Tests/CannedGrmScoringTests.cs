using GrmWorker.Testing;
using GrmWorker.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace GrmWorker.Worker.Tests;

[CollectionDefinition(Name)]
public sealed class CannedWorkerCollection : ICollectionFixture<CannedWorkerFixture>
{
    public const string Name = "canned-worker";
}

/// <summary>The in-process worker with a <see cref="CannedGrmGenerator"/> instead of the model: samples are stored texts, so jobs score.</summary>
public sealed class CannedWorkerFixture : WorkerFixture
{
    public CannedGrmGenerator Canned { get; } = CannedGrmGenerator.Load(Path.Combine(ServiceSettings.RepoRoot, "models", "tiny-random"));

    protected override void ConfigureServices(IServiceCollection services) =>
        services.Replace(ServiceDescriptor.Singleton<IGrmGenerator>(Canned));
}

/// <summary>The scored path end to end: parsed samples, voting with permutations undone, every row stored, the result published.</summary>
[Collection(CannedWorkerCollection.Name)]
public sealed class CannedGrmScoringTests(CannedWorkerFixture worker)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Canned_samples_are_scored_and_stored_with_rewards_in_request_order()
    {
        var route = WorkerFixture.NewRoute();
        var results = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, route);
        var id = WorkerFixture.NewRequestId();
        string[] responses = ["first", "second", "third"];
        const int k = 3;
        const long seed = 7;
        // Response i (request order) gets 2(i+1) in every sample; each sample shows the responses shuffled, so the
        // rewards come out 2, 4, 6 only if every permutation is undone.
        worker.Canned.AddScored(id, seed, responses.Length, k, (_, response) => 2 * (response + 1));

        await worker.Amqp.PublishAsync(worker.ScoreQueue, new
        {
            requestId = id, route, query = "Which answer is best?", responses, kMax = k, kMin = k, stopping = "none", seed, maxNewTokens = 256,
            metadata = new { step = 3 },
        });
        var json = Assert.Single(await worker.Amqp.ReadAsync(results, 1, Wait)).Json;

        Assert.Equal("scored", json.GetProperty("status").GetString());
        Assert.False(json.TryGetProperty("error", out _));
        Assert.Equal([2.0, 4.0, 6.0], json.GetProperty("rewards").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal([6.0, 12.0, 18.0], json.GetProperty("voteSums").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(2, json.GetProperty("best").GetInt32());
        Assert.Equal(k, json.GetProperty("samplesUsed").GetInt32());
        Assert.Equal(k, json.GetProperty("samplesValid").GetInt32());
        Assert.False(json.GetProperty("stoppedEarly").GetBoolean());
        Assert.Equal(3, json.GetProperty("metadata").GetProperty("step").GetInt32());
        Assert.True(json.GetProperty("tokens").GetProperty("generated").GetInt64() > 0);

        Assert.Equal("scored", await worker.ScalarAsync<string>("SELECT status FROM scoring_jobs WHERE request_id = $1", id));
        Assert.Equal(k, await Count("grm_samples", id));
        Assert.Equal(k, await Count("grm_samples", id, "parse_status = 'ok'"));
        Assert.Equal(k * 4, await Count("principles", id));
        Assert.Equal(k * responses.Length, await Count("critiques", id));
        Assert.Equal(k * responses.Length, await Count("scores", id));
        // Stored per request index: every score of response i is 2(i+1), and its critiques are the ones written for it.
        Assert.Equal(0, await Count("scores", id, "score <> 2 * (response_index + 1)"));
        Assert.Equal(0, await Count("critiques", id, "text NOT LIKE '%earns ' || 2 * (response_index + 1) || ' of 10%'"));
        Assert.Equal("2,4,6", await worker.ScalarAsync<string>(
            "SELECT string_agg(r.value::text, ',' ORDER BY r.response_index) FROM rewards r JOIN scoring_jobs j ON j.id = r.job_id " +
            "WHERE j.request_id = $1 AND r.strategy = 'voting'", id));
    }

    private async Task<int> Count(string table, string requestId, string where = "true") =>
        (int)await worker.ScalarAsync<long>($"SELECT count(*) FROM {table} t JOIN scoring_jobs j ON j.id = t.job_id WHERE j.request_id = $1 AND {where}", requestId);
}
