using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace GrmWorker.Worker.Tests;

/// <summary>`grm serve` as a real process: killed with SIGKILL mid-work, restarted, every job ends exactly once; SIGTERM exits 0.</summary>
[Collection(WorkerCollection.Name)]
public sealed class WorkerProcessTests(WorkerFixture worker)
{
    private const int Jobs = 12;
    private const int KMax = 4;

    [Fact]
    public async Task A_worker_killed_mid_batch_loses_nothing_and_a_restarted_one_finishes_every_job_exactly_once()
    {
        var queue = $"grm.score.proc-{Guid.NewGuid():N}";
        var route = WorkerFixture.NewRoute();
        var results = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, route);
        var ids = Enumerable.Range(0, Jobs).Select(_ => WorkerFixture.NewRequestId()).ToArray();
        var seen = new Dictionary<string, List<JsonElement>>();
        try
        {
            using (var first = StartWorker(queue))
            {
                await worker.Amqp.WaitForQueueAsync(queue, TimeSpan.FromSeconds(60), () => first.Log);
                foreach (var id in ids)
                    await worker.Amqp.PublishAsync(queue, new { requestId = id, route, query = "Which is better?", responses = new[] { "one", "two" } });
                // Kill as soon as the first results are out: the rest of the jobs are in flight or still queued.
                var early = await worker.Amqp.ReadAsync(results, 1, TimeSpan.FromSeconds(90));
                Assert.True(early.Count == 1, "the first worker published nothing: " + first.Log);
                first.Process.Kill();
                await first.Process.WaitForExitAsync();
                var storedAtKill = await worker.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = ANY($1)", (object)ids);
                Assert.InRange(storedAtKill, 1, Jobs - 1);
                foreach (var d in early) Add(seen, d);
            }

            using var second = StartWorker(queue);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
            while (seen.Count < Jobs && DateTime.UtcNow < deadline)
                foreach (var d in await worker.Amqp.ReadAsync(results, 1, TimeSpan.FromSeconds(1))) Add(seen, d);

            // Every job has a result; a job finished just before the kill may be published again (same content).
            Assert.True(seen.Count == Jobs, $"{seen.Count} of {Jobs} jobs got a result; worker log: {second.Log}");
            Assert.Equal(ids.Order(), seen.Keys.Order());
            foreach (var copies in seen.Values)
                Assert.All(copies, c => Assert.True(JsonElement.DeepEquals(copies[0], c)));
            foreach (var id in ids)
            {
                Assert.Equal(1L, await worker.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = $1", id));
                Assert.Equal((long)KMax, await worker.ScalarAsync<long>(
                    "SELECT count(*) FROM grm_samples s JOIN scoring_jobs j ON j.id = s.job_id WHERE j.request_id = $1", id));
            }
            Assert.Equal(0L, await worker.Amqp.CountAsync(queue));

            // SIGTERM: stop taking messages, finish, exit 0.
            using (var kill = Process.Start("kill", ["-TERM", second.Process.Id.ToString(CultureInfo.InvariantCulture)])!) await kill.WaitForExitAsync();
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await second.Process.WaitForExitAsync(stop.Token);
            Assert.True(second.Process.ExitCode == 0, $"exit {second.Process.ExitCode}: {second.Log}");
        }
        finally
        {
            await worker.Amqp.DeleteQueueAsync(queue);
            await worker.Amqp.DeleteQueueAsync(queue + "_error");
        }
    }

    private static void Add(Dictionary<string, List<JsonElement>> seen, Delivered d)
    {
        var id = d.Json.GetProperty("requestId").GetString()!;
        if (!seen.TryGetValue(id, out var list)) seen[id] = list = [];
        list.Add(d.Json.Clone());
    }

    private WorkerProcess StartWorker(string queue) => WorkerProcess.Start(worker, queue, new Dictionary<string, string>
    {
        ["GRM_STOPPING__KMAX"] = KMax.ToString(CultureInfo.InvariantCulture),
        ["GRM_STOPPING__KMIN"] = KMax.ToString(CultureInfo.InvariantCulture),
    });
}
