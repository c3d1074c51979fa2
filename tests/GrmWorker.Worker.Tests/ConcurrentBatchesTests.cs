using System.Globalization;
using System.Text.Json;

namespace GrmWorker.Worker.Tests;

[CollectionDefinition(Name)]
public sealed class ConcurrentBatchesCollection : ICollectionFixture<ConcurrentBatchesWorkerFixture>
{
    public const string Name = "worker-concurrent-batches";
}

/// <summary>
/// The worker of <see cref="WorkerFixture"/> taking one request per batch with two batches in flight, and samples long
/// enough that a second batch starts while the first is still generating.
/// </summary>
public sealed class ConcurrentBatchesWorkerFixture : WorkerFixture
{
    protected override void ConfigureSettings(IDictionary<string, string?> settings)
    {
        settings["Worker:BatchMessageLimit"] = "1";
        settings["Worker:ConcurrencyLimit"] = "2";
        settings["Worker:DefaultMaxNewTokens"] = "48";
    }
}

/// <summary>Two batches in flight: a request sent twice at once runs the model once and gets one stored result twice.</summary>
[Collection(ConcurrentBatchesCollection.Name)]
public sealed class ConcurrentBatchesTests(ConcurrentBatchesWorkerFixture worker)
{
    [Fact]
    public async Task A_request_sent_twice_at_once_into_two_batches_runs_the_model_once()
    {
        var route = WorkerFixture.NewRoute();
        var results = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, route);
        using var http = new HttpClient { BaseAddress = worker.HttpAddress };
        var samplesBefore = await MetricAsync(http, "grm_samples_total");
        var duplicatesBefore = await MetricAsync(http, "grm_duplicates_total");
        var requestId = WorkerFixture.NewRequestId();
        var request = new { requestId, route, query = "2+2?", responses = new[] { "4", "5" } };

        await worker.Amqp.PublishAsync(worker.ScoreQueue, request);
        await worker.Amqp.PublishAsync(worker.ScoreQueue, request);
        var delivered = await worker.Amqp.ReadAsync(results, 2, TimeSpan.FromSeconds(60));

        Assert.Equal(2, delivered.Count);
        Assert.True(JsonElement.DeepEquals(delivered[0].Json, delivered[1].Json), $"{delivered[0].Body} vs {delivered[1].Body}");
        Assert.Equal(WorkerFixture.KMax, await MetricAsync(http, "grm_samples_total") - samplesBefore);
        Assert.Equal(1, await MetricAsync(http, "grm_duplicates_total") - duplicatesBefore);
        Assert.Equal(1L, await worker.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = $1", requestId));
        Assert.Equal(WorkerFixture.KMax, await worker.ScalarAsync<long>(
            "SELECT count(*) FROM grm_samples s JOIN scoring_jobs j ON j.id = s.job_id WHERE j.request_id = $1", requestId));
    }

    private static async Task<double> MetricAsync(HttpClient http, string name)
    {
        var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var line = text.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
    }
}
