using System.Globalization;
using System.Text.Json;
using GrmWorker.Testing;
using GrmWorker.Worker.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace GrmWorker.Worker.Tests;

/// <summary>Postgres unreachable for a while under load (through a proxy the test cuts), then back: no job lost, none duplicated.</summary>
[Collection(WorkerCollection.Name)]
public sealed class DatabaseOutageTests(WorkerFixture worker)
{
    private const int Jobs = 8;

    [Fact]
    public async Task Jobs_written_while_the_database_is_down_are_stored_exactly_once_when_it_returns()
    {
        var real = new NpgsqlConnectionStringBuilder(worker.ConnectionString);
        await using var proxy = new TcpPauseProxy(real.Host!, real.Port);
        var queue = $"grm.score.outage-{Guid.NewGuid():N}";
        var route = WorkerFixture.NewRoute();
        var results = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, route);
        var ids = Enumerable.Range(0, Jobs).Select(_ => WorkerFixture.NewRequestId()).ToArray();
        using var host = BuildHost(new NpgsqlConnectionStringBuilder(worker.ConnectionString)
        {
            Host = "127.0.0.1",
            Port = proxy.Port,
            Timeout = 3,
        }.ConnectionString, queue);
        await host.StartAsync();
        try
        {
            foreach (var id in ids.Take(2))
                await worker.Amqp.PublishAsync(queue, new { requestId = id, route, query = "Which is better?", responses = new[] { "a", "b" } });
            var seen = (await worker.Amqp.ReadAsync(results, 2, TimeSpan.FromSeconds(60))).ToList();
            Assert.Equal(2, seen.Count);

            proxy.TakeDown();
            foreach (var id in ids.Skip(2))
                await worker.Amqp.PublishAsync(queue, new { requestId = id, route, query = "Which is better?", responses = new[] { "a", "b" } });
            // Down until the worker has been refused a few times (its retries run into the outage).
            var refusedBefore = proxy.Refused;
            await Poll.UntilAsync(() => proxy.Refused >= refusedBefore + 3, TimeSpan.FromSeconds(60),
                () => $"the worker tried Postgres {proxy.Refused - refusedBefore} times in the outage");
            // Down the whole time: nothing of these jobs is stored or published yet.
            Assert.Equal(0L, await worker.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = ANY($1)", (object)ids.Skip(2).ToArray()));
            Assert.Empty(await worker.Amqp.ReadAsync(results, 1, TimeSpan.FromMilliseconds(300)));
            proxy.BringUp();

            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
            while (seen.Select(d => d.Json.GetProperty("requestId").GetString()).Distinct().Count() < Jobs && DateTime.UtcNow < deadline)
                seen.AddRange(await worker.Amqp.ReadAsync(results, 1, TimeSpan.FromSeconds(1)));

            var byId = seen.GroupBy(d => d.Json.GetProperty("requestId").GetString()!).ToDictionary(g => g.Key, g => g.ToList());
            Assert.Equal(ids.Order(), byId.Keys.Order());
            foreach (var copies in byId.Values)
                Assert.All(copies, c => Assert.True(JsonElement.DeepEquals(copies[0].Json, c.Json)));
            foreach (var id in ids)
                Assert.Equal(1L, await worker.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = $1", id));
            // never declared (nothing failed) or empty
            Assert.Equal(0L, await worker.Amqp.CountAsync(queue + "_error") ?? 0);
        }
        finally
        {
            await host.StopAsync();
            await worker.Amqp.DeleteQueueAsync(queue);
            await worker.Amqp.DeleteQueueAsync(queue + "_error");
        }
    }

    private static IHost BuildHost(string connectionString, string queue)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, Args = [] });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(ServiceSettings.Broker())
        {
            ["Postgres:ConnectionString"] = connectionString,
            ["Postgres:CommandTimeout"] = "00:00:05",
            ["RabbitMq:ScoreQueue"] = queue,
            ["Model:Directory"] = Path.Combine(ServiceSettings.RepoRoot, "models", "tiny-random"),
            ["Inference:IntraOpThreads"] = "1",
            ["Stopping:KMax"] = "2",
            ["Stopping:KMin"] = "2",
            ["Worker:DefaultMaxNewTokens"] = "4",
            ["Worker:BatchMessageLimit"] = "3",
            ["Worker:BatchTimeLimit"] = "00:00:00.100",
            ["Http:Url"] = "",
        });
        builder.Logging.SetMinimumLevel(LogLevel.Error);
        builder.Services.AddGrmWorker(builder.Configuration);
        return builder.Build();
    }
}
