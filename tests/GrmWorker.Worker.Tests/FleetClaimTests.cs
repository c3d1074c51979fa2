using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using GrmWorker.Testing;
using Xunit.Abstractions;

namespace GrmWorker.Worker.Tests;

/// <summary>
/// Two `grm serve` processes each get a copy of every request (one queue each, as when a trainer re-sends to a fleet):
/// the Postgres claim lets one of them generate it, the other waits for the stored result. A worker SIGKILLed while it
/// holds claims loses them when the lease runs out, and exactly one other worker runs those requests again.
/// Model runs are counted per requestId from the workers' own "claimed ... generating" log lines.
/// </summary>
[Collection(WorkerCollection.Name)]
public sealed partial class FleetClaimTests(WorkerFixture worker, ITestOutputHelper output)
{
    private const int Jobs = 32;

    [Fact]
    public async Task Two_workers_given_the_same_requests_generate_each_once_and_a_killed_workers_claims_run_once_more()
    {
        var queues = new[] { $"grm.score.fleet-a-{Guid.NewGuid():N}", $"grm.score.fleet-b-{Guid.NewGuid():N}" };
        var route = WorkerFixture.NewRoute();
        var results = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, route);
        var ids = Enumerable.Range(0, Jobs).Select(_ => WorkerFixture.NewRequestId()).ToArray();
        try
        {
            string[] storedAtKill;
            string killedLog;
            using var b = Start(queues[1]);
            using (var a = Start(queues[0]))
            {
                await worker.Amqp.WaitForQueueAsync(queues[0], TimeSpan.FromSeconds(60), () => a.Log);
                await worker.Amqp.WaitForQueueAsync(queues[1], TimeSpan.FromSeconds(60), () => b.Log);
                // A gets the requests first and starts claiming; then B gets the same ones and must wait for A's live claims.
                foreach (var id in ids) await worker.Amqp.PublishAsync(queues[0], Request(id, route));
                await WaitForLogAsync(a, log => Runs(log).Count > 0, "worker A claimed nothing");
                foreach (var id in ids) await worker.Amqp.PublishAsync(queues[1], Request(id, route));
                // SIGKILL while A holds claims it has not stored, once B has met one of them.
                await WaitForLogAsync(b, log => log.Contains("being scored by another worker", StringComparison.Ordinal), "worker B never met a claim of A");
                a.Process.Kill();
                await a.Process.WaitForExitAsync();
                killedLog = a.Log;
                storedAtKill = await worker.ScalarAsync<string[]>(
                    "SELECT coalesce(array_agg(request_id), '{}') FROM scoring_jobs WHERE request_id = ANY($1)", (object)ids) ?? [];
            }
            using var restarted = Start(queues[0]);

            var seen = await ReadResultsAsync(results, ids, () => b.Log + restarted.Log);

            var killedRuns = Runs(killedLog).ToLookup(r => r.RequestId, r => r.Attempt);
            var survivorRuns = Runs(b.Log).Concat(Runs(restarted.Log)).ToLookup(r => r.RequestId, r => r.Attempt);
            var lostByKill = killedRuns.Select(g => g.Key).Except(storedAtKill).ToHashSet();
            Assert.True(lostByKill.Count > 0, "the kill came after A stored everything it claimed; nothing tested the lease takeover");
            output.WriteLine($"{Jobs} requests x 2 workers: A generated {killedRuns.Count} before SIGKILL ({storedAtKill.Length} stored), " +
                $"survivors generated {survivorRuns.Sum(g => g.Count())} ({lostByKill.Count} taken over as attempt 2)");
            foreach (var id in ids)
            {
                Assert.Equal(1L, await worker.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = $1", id));
                int[] onKilled = [.. killedRuns[id]], onSurvivors = [.. survivorRuns[id]];
                Assert.True(onKilled.Length + onSurvivors.Length > 0, $"{id} was never generated");
                // Generated once; a request the killed worker held unstored ran once more, as attempt 2, on one survivor.
                if (lostByKill.Contains(id)) Assert.Equal([2], onSurvivors);
                else if (onKilled.Length > 0) Assert.Empty(onSurvivors);
                else Assert.Single(onSurvivors); // attempt 2 when A claimed it in the instant before the kill, before its log line
                Assert.Equal(2, seen[id].Count);
                Assert.True(JsonElement.DeepEquals(seen[id][0], seen[id][1]), $"{id}: the two copies got different results");
            }
        }
        finally
        {
            foreach (var queue in queues)
            {
                await worker.Amqp.DeleteQueueAsync(queue);
                await worker.Amqp.DeleteQueueAsync(queue + "_error");
            }
        }
    }

    [Fact]
    public async Task A_request_whose_runs_kept_losing_their_worker_gets_a_failed_result_instead_of_another_run()
    {
        var route = WorkerFixture.NewRoute();
        var results = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, route);
        var id = WorkerFixture.NewRequestId();
        // Three workers took it up and died (the default Worker:MaxRunAttempts is 3); the last lease ran out.
        await worker.ScalarAsync<int>(
            "INSERT INTO request_claims (request_id, worker_id, lease_until, attempts) VALUES ($1, 'dead-worker', now() - interval '1 second', 3) RETURNING 1", id);

        await worker.Amqp.PublishAsync(worker.ScoreQueue, Request(id, route));
        var result = Assert.Single(await worker.Amqp.ReadAsync(results, 1, TimeSpan.FromSeconds(60))).Json;

        Assert.Equal("failed", result.GetProperty("status").GetString());
        Assert.Equal("worker_lost", result.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("3 times", result.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, result.GetProperty("samplesUsed").GetInt32());
        Assert.Equal("failed", await worker.ScalarAsync<string>("SELECT status FROM scoring_jobs WHERE request_id = $1", id));
        Assert.True(await worker.ScalarAsync<bool>("SELECT lease_until = 'infinity' FROM request_claims WHERE request_id = $1", id));
    }

    private static object Request(string id, string route) => new { requestId = id, route, query = "Which is better?", responses = new[] { "one", "two" } };

    private static Task WaitForLogAsync(WorkerProcess process, Func<string, bool> condition, string failure) =>
        Poll.UntilAsync(() => condition(process.Log), TimeSpan.FromSeconds(60), () => $"{failure}: {process.Log}", TimeSpan.FromMilliseconds(10));

    private WorkerProcess Start(string queue) => WorkerProcess.Start(worker, queue, new Dictionary<string, string>
    {
        ["GRM_STOPPING__KMAX"] = "4",
        ["GRM_STOPPING__KMIN"] = "4",
        ["GRM_WORKER__DEFAULTMAXNEWTOKENS"] = "48",
        ["GRM_WORKER__CLAIMLEASE"] = "00:00:03",
        ["GRM_WORKER__CLAIMPOLLINTERVAL"] = "00:00:00.200",
        ["Logging__LogLevel__GrmWorker.Worker.Pipeline.JobService"] = "Information",
        ["Logging__Console__FormatterName"] = "simple",
    });

    /// <summary>Every result until each id has one per queue (two), or a deadline.</summary>
    private async Task<Dictionary<string, List<JsonElement>>> ReadResultsAsync(string results, string[] ids, Func<string> log)
    {
        var seen = ids.ToDictionary(id => id, _ => new List<JsonElement>());
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (seen.Values.Any(v => v.Count < 2))
        {
            Assert.True(DateTime.UtcNow < deadline,
                $"{seen.Values.Count(v => v.Count >= 2)} of {Jobs} requests got both results; logs: {log()}");
            foreach (var d in await worker.Amqp.ReadAsync(results, 8, TimeSpan.FromSeconds(1)))
                seen[d.Json.GetProperty("requestId").GetString()!].Add(d.Json.Clone());
        }
        return seen;
    }

    private static List<(string RequestId, int Attempt)> Runs(string log) =>
        [.. ClaimedLine().Matches(log).Select(m => (m.Groups[1].Value, int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)))];

    [GeneratedRegex(@"Request (\S+) claimed \(attempt (\d+)\); generating")]
    private static partial Regex ClaimedLine();
}
