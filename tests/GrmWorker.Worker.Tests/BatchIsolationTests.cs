using GrmWorker.Inference.Generation;
using GrmWorker.Scoring.Prompting;
using GrmWorker.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace GrmWorker.Worker.Tests;

[CollectionDefinition(Name)]
public sealed class FaultingWorkerCollection : ICollectionFixture<FaultingWorkerFixture>
{
    public const string Name = "faulting-worker";
}

/// <summary>The in-process worker whose generator throws (a fault no retry can fix) for any prompt holding <see cref="Marker"/>.</summary>
public sealed class FaultingWorkerFixture : WorkerFixture
{
    public const string Marker = "POISON-PILL";

    protected override void ConfigureServices(IServiceCollection services) =>
        services.Replace(ServiceDescriptor.Singleton<IGrmGenerator>(sp => new FaultingGenerator(sp.GetRequiredService<GrmEngine>(), Marker)));

    private sealed class FaultingGenerator(IGrmGenerator inner, string marker) : IGrmGenerator
    {
        public string ModelId => inner.ModelId;
        public ChatFormat Chat => inner.Chat;
        public int ContextLength => inner.ContextLength;
        public int ContextMargin => inner.ContextMargin;
        public IReadOnlyList<string> StopStrings => inner.StopStrings;
        public int[] Encode(string prompt) => inner.Encode(prompt);
        public int[] EncodeContinuation(string text) => inner.EncodeContinuation(text);
        public string Decode(IReadOnlyList<int> ids) => inner.Decode(ids);

        public Task<GenerationResult> GenerateAsync(IReadOnlyList<GenerationJob> jobs, TimeSpan timeout, CancellationToken cancellationToken) =>
            jobs.Any(j => inner.Decode(j.PromptIds).Contains(marker, StringComparison.Ordinal))
                ? throw new InvalidOperationException($"test fault: a prompt holds {marker}")
                : inner.GenerateAsync(jobs, timeout, cancellationToken);
    }
}

/// <summary>A fault no retry can fix, in one request of a batch, stays with that request.</summary>
[Collection(FaultingWorkerCollection.Name)]
public sealed class BatchIsolationTests(FaultingWorkerFixture worker)
{
    [Fact]
    public async Task A_request_that_faults_goes_to_the_error_queue_alone_and_its_batch_neighbours_are_scored()
    {
        var route = WorkerFixture.NewRoute();
        var results = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, route);
        var poison = WorkerFixture.NewRequestId();
        string[] good = [WorkerFixture.NewRequestId(), WorkerFixture.NewRequestId()];

        await worker.Amqp.PublishAsync(worker.ScoreQueue, new { requestId = good[0], route, query = "Which is right?", responses = new[] { "a", "b" } });
        await worker.Amqp.PublishAsync(worker.ScoreQueue, new { requestId = poison, route, query = $"Which is right? {FaultingWorkerFixture.Marker}", responses = new[] { "a", "b" } });
        await worker.Amqp.PublishAsync(worker.ScoreQueue, new { requestId = good[1], route, query = "Which is right?", responses = new[] { "c", "d" } });

        var answers = await worker.Amqp.ReadAsync(results, 2, TimeSpan.FromSeconds(60));
        Assert.Equal(good.Order(), answers.Select(a => a.Json.GetProperty("requestId").GetString()).Order());
        Assert.All(answers, a => Assert.True(a.Json.GetProperty("samplesUsed").GetInt32() > 0, a.Json.ToString()));
        var errors = await worker.Amqp.ReadAsync(worker.ErrorQueue, 2, TimeSpan.FromSeconds(5));
        var entry = Assert.Single(errors);
        Assert.Contains(poison, entry.Body, StringComparison.Ordinal);
        Assert.Equal("unprocessable", entry.Headers["grm-error-code"]);
        Assert.Equal($"requestId {poison}: InvalidOperationException: test fault: a prompt holds {FaultingWorkerFixture.Marker}", entry.Headers["MT-Fault-Message"]);
        Assert.DoesNotContain(entry.Headers.Keys, k => k.StartsWith("MT-Host-", StringComparison.Ordinal) || k.Contains("StackTrace", StringComparison.Ordinal));
        Assert.Equal(0L, await worker.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = $1", poison));
        // Its claim was given up, so a fixed worker could take it at once.
        Assert.True(await worker.ScalarAsync<bool>("SELECT lease_until < now() FROM request_claims WHERE request_id = $1", poison));
        Assert.Equal(0L, await worker.Amqp.CountAsync(worker.ScoreQueue));
        Assert.True((await worker.Amqp.CountAsync(worker.SkippedQueue) ?? 0) == 0, $"a message was parked in {worker.SkippedQueue}");
    }
}
