using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace GrmWorker.App.Tests;

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
                // The worker declares its queue when its bus starts; a publish before that would be dropped.
                var ready = DateTime.UtcNow + TimeSpan.FromSeconds(60);
                while (await worker.Amqp.CountAsync(queue) < 0 && DateTime.UtcNow < ready) await Task.Delay(100);
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

    private WorkerProcess StartWorker(string queue)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "grm.dll"), "serve"])
        {
            RedirectStandardOutput = false,
            RedirectStandardError = true,
            WorkingDirectory = ServiceSettings.RepoRoot,
        };
        var env = start.Environment;
        env["GRM_POSTGRES__CONNECTIONSTRING"] = worker.ConnectionString;
        foreach (var name in new[] { "HOST", "PORT", "VIRTUALHOST", "USERNAME", "PASSWORD" })
            env[$"GRM_RABBITMQ__{name}"] = ServiceSettings.Get($"GRM_RABBITMQ__{name}");
        env["GRM_RABBITMQ__SCOREQUEUE"] = queue;
        env["GRM_MODEL__DIRECTORY"] = Path.Combine(ServiceSettings.RepoRoot, "models", "tiny-random");
        env["GRM_INFERENCE__INTRAOPTHREADS"] = "1";
        env["GRM_STOPPING__KMAX"] = KMax.ToString(CultureInfo.InvariantCulture);
        env["GRM_STOPPING__KMIN"] = KMax.ToString(CultureInfo.InvariantCulture);
        env["GRM_STOPPING__ROUNDSIZE"] = "1";
        env["GRM_WORKER__DEFAULTMAXNEWTOKENS"] = "24";
        env["GRM_WORKER__BATCHMESSAGELIMIT"] = "4";
        env["GRM_WORKER__BATCHTIMELIMIT"] = "00:00:00.100";
        env["GRM_HTTP__URL"] = "";
        env["Logging__LogLevel__Default"] = "Warning";
        return new WorkerProcess(start);
    }

    /// <summary>A `grm serve` child process whose stderr is drained (a full pipe would block it) into <see cref="Log"/>.</summary>
    private sealed class WorkerProcess : IDisposable
    {
        private readonly System.Text.StringBuilder _log = new();

        public WorkerProcess(ProcessStartInfo start)
        {
            Process = new Process { StartInfo = start };
            Process.ErrorDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
            Process.Start();
            Process.BeginErrorReadLine();
        }

        public Process Process { get; }

        public string Log { get { lock (_log) return _log.ToString(); } }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill();
            Process.Dispose();
        }
    }
}
