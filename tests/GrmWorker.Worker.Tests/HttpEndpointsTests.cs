using System.Net;

namespace GrmWorker.Worker.Tests;

[Collection(WorkerCollection.Name)]
public sealed class HttpEndpointsTests(WorkerFixture worker)
{
    [Fact]
    public async Task Health_and_readiness_answer_once_the_worker_is_started()
    {
        using var http = new HttpClient { BaseAddress = worker.HttpAddress };

        var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
        var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.True(ready.StatusCode == HttpStatusCode.OK, await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Metrics_count_jobs_by_status_samples_tokens_and_batches_in_prometheus_text()
    {
        var route = WorkerFixture.NewRoute();
        var results = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, route);
        await worker.Amqp.PublishAsync(worker.ScoreQueue, new { requestId = WorkerFixture.NewRequestId(), route, query = "q?", responses = new[] { "a" } });
        Assert.Single(await worker.Amqp.ReadAsync(results, 1, TimeSpan.FromSeconds(60)));
        using var http = new HttpClient { BaseAddress = worker.HttpAddress };

        var response = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        Assert.Matches(@"grm_jobs_total\{status=""failed""\} [1-9]", text);
        Assert.Matches(@"\ngrm_samples_total [1-9]", text);
        Assert.Matches(@"\ngrm_generated_tokens_total [1-9]", text);
        Assert.Matches(@"\ngrm_batch_size_count [1-9]", text);
        Assert.Contains("# TYPE grm_job_latency_seconds histogram", text, StringComparison.Ordinal);
        Assert.Contains("grm_round_seconds_bucket{le=\"+Inf\"}", text, StringComparison.Ordinal);
        // memory, so a soak can watch it: process RSS and its peak, the managed heap, the generator's peak
        Assert.Matches(@"\nprocess_resident_memory_bytes [1-9][0-9]{6,}\n", text);
        Assert.Matches(@"\nprocess_resident_memory_peak_bytes [1-9][0-9]{6,}\n", text);
        Assert.Matches(@"\ndotnet_gc_heap_size_bytes [0-9]+\n", text);
        Assert.Contains("# TYPE grm_generator_peak_bytes gauge", text, StringComparison.Ordinal);
    }
}
