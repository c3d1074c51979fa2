using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using GrmWorker.Cli.Commands;
using GrmWorker.Worker.Relabel;
using GrmWorker.Worker.Runs;

namespace GrmWorker.Worker.Tests;

/// <summary>
/// The bundled trained GRM (models/grm-tiny, its meta-RM) end to end through the real worker, RabbitMQ and Postgres:
/// the example jobs of examples/jobs.jsonl are scored (not failed), every sample the result counts is in Postgres
/// with its scores, critiques, principles and meta score. Requests carry a seed, so each run draws the same samples.
/// How often the bundled GRM picks the right answer is measured by `grm eval`, not asserted here.
/// </summary>
[Collection(BundledGrmCollection.Name)]
public sealed class BundledGrmTests(BundledGrmWorkerFixture worker) : IDisposable
{
    private const long Seed = 11;
    private const string ModelId = "grm-tiny-v2";
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(3);

    private readonly string _dir = Directory.CreateTempSubdirectory("grm-bundled-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task The_bundled_grm_scores_the_example_jobs_and_stores_every_sample_the_result_counts()
    {
        var route = WorkerFixture.NewRoute();
        var results = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, route);
        var examples = Examples();
        var ids = new Dictionary<string, string>();
        foreach (var example in examples)
        {
            var name = (string)example["requestId"]!;
            ids[name] = $"{name}-{Guid.NewGuid():N}";
            example["requestId"] = ids[name];
            example["route"] = route;
            example["seed"] = Seed;
            await worker.Amqp.PublishAsync(worker.ScoreQueue, example.ToJsonString());
        }

        var delivered = await worker.Amqp.ReadAsync(results, examples.Count, Wait);

        Assert.Equal(examples.Count, delivered.Count);
        foreach (var (name, id) in ids)
        {
            var json = Assert.Single(delivered, d => d.Json.GetProperty("requestId").GetString() == id).Json;
            Assert.True(json.GetProperty("status").GetString() == "scored", json.GetRawText());
            Assert.Equal(ModelId, json.GetProperty("modelId").GetString());
            var used = json.GetProperty("samplesUsed").GetInt32();
            var valid = json.GetProperty("samplesValid").GetInt32();
            Assert.InRange(used, 4, BundledGrmWorkerFixture.BundledKMax);
            Assert.InRange(valid, 1, used);
            var n = json.GetProperty("rewards").GetArrayLength();
            Assert.Equal(((JsonArray)examples.Single(e => (string)e["requestId"]! == id)["responses"]!).Count, n);
            Assert.All(json.GetProperty("rewards").EnumerateArray(), r => Assert.InRange(r.GetDouble(), 1, 10));
            Assert.InRange(json.GetProperty("best").GetInt32(), 0, n - 1);

            Assert.Equal(used, await Count("SELECT count(*) FROM grm_samples s JOIN scoring_jobs j ON j.id = s.job_id WHERE j.request_id = $1", id));
            Assert.Equal(valid, await Count(
                "SELECT count(*) FROM grm_samples s JOIN scoring_jobs j ON j.id = s.job_id WHERE j.request_id = $1 AND s.meta_score IS NOT NULL", id));
            Assert.Equal(valid * n, await Count("SELECT count(*) FROM scores s JOIN scoring_jobs j ON j.id = s.job_id WHERE j.request_id = $1", id));
            // Unparsed samples keep the critiques they wrote too; every valid one has one per response.
            Assert.Equal(valid * n, await Count(
                "SELECT count(*) FROM critiques c JOIN scoring_jobs j ON j.id = c.job_id JOIN grm_samples s ON s.job_id = c.job_id " +
                "AND s.sample_index = c.sample_index WHERE j.request_id = $1 AND s.parse_status = 'ok'", id));
            Assert.True(await Count("SELECT count(*) FROM principles p JOIN scoring_jobs j ON j.id = p.job_id WHERE j.request_id = $1", id) >= valid);
            Assert.Equal(n, await Count(
                "SELECT count(*) FROM rewards r JOIN scoring_jobs j ON j.id = r.job_id WHERE j.request_id = $1 AND r.strategy = 'voting'", id));
        }
    }

    [Fact]
    public async Task A_meta_rm_job_is_voted_by_the_top_half_of_its_samples_under_the_trained_meta_rm()
    {
        var route = WorkerFixture.NewRoute();
        var results = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, route);
        var request = Examples().Single(e => (string)e["requestId"]! == "example-convert-3");
        var id = $"meta-{Guid.NewGuid():N}";
        request["requestId"] = id;
        request["route"] = route;
        request["seed"] = Seed;
        request["aggregation"] = "meta-rm";
        request["stopping"] = "none";

        await worker.Amqp.PublishAsync(worker.ScoreQueue, request.ToJsonString());
        var json = Assert.Single(await worker.Amqp.ReadAsync(results, 1, Wait)).Json;

        Assert.True(json.GetProperty("status").GetString() == "scored", json.GetRawText());
        Assert.Equal("meta-rm", json.GetProperty("aggregation").GetString());
        Assert.Equal(BundledGrmWorkerFixture.BundledKMax, json.GetProperty("samplesUsed").GetInt32());
        var valid = json.GetProperty("samplesValid").GetInt32();
        Assert.InRange(valid, 1, BundledGrmWorkerFixture.BundledKMax);
        Assert.Equal(valid, await Count(
            "SELECT count(*) FROM grm_samples s JOIN scoring_jobs j ON j.id = s.job_id WHERE j.request_id = $1 AND s.meta_score IS NOT NULL", id));
        Assert.Equal(3, await Count(
            "SELECT count(*) FROM rewards r JOIN scoring_jobs j ON j.id = r.job_id WHERE j.request_id = $1 AND r.strategy = 'meta-rm'", id));
        // The voters are the top ceil(m/2) of the m valid samples by meta score: the vote sums are their stored scores' sums.
        var top = await worker.ScalarAsync<int[]>(
            "SELECT array_agg(sample_index) FROM (SELECT s.sample_index FROM grm_samples s JOIN scoring_jobs j ON j.id = s.job_id " +
            "WHERE j.request_id = $1 AND s.parse_status = 'ok' ORDER BY s.meta_score DESC, s.sample_index LIMIT $2) t", id, (valid + 1) / 2);
        for (var i = 0; i < 3; i++)
        {
            var sum = await Count("SELECT coalesce(sum(sc.score), 0)::bigint FROM scores sc JOIN scoring_jobs j ON j.id = sc.job_id " +
                                  "WHERE j.request_id = $1 AND sc.response_index = $2 AND sc.sample_index = ANY($3)", id, i, top!);
            Assert.Equal(sum, json.GetProperty("voteSums")[i].GetDouble());
        }
    }

    [Fact]
    public async Task Relabel_through_the_worker_adds_the_bundled_grm_rewards_in_input_order_and_rejects_the_bad_line()
    {
        var input = Path.Combine(_dir, "in.jsonl");
        var output = Path.Combine(_dir, "out.jsonl");
        var lines = Examples().Take(3).Select(e =>
        {
            e.Remove("route");
            e["name"] = (string)e["requestId"]!;
            e.Remove("requestId");
            e["seed"] = Seed;
            return e.ToJsonString();
        }).ToList();
        lines.Insert(1, """{"query": "What is 2 + 2?", "responses": "4"}""");
        File.WriteAllLines(input, lines);
        var args = new RelabelArguments { Input = input, Output = output, RunKey = $"bundled-{Guid.NewGuid():N}", Json = true, Timeout = Wait };

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await RelabelCommand.RunAsync(args, new RunEnvironment(stdout, stderr) { Settings = BrokerSettings() }, CancellationToken.None);

        Assert.True(code == ExitCodes.BadInput, $"exit {code}: {stderr}"); // one bad line
        var written = File.ReadAllLines(output).Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();
        Assert.Equal(["example-add-1", "example-mul-2", "example-convert-3"], written.Select(w => (string)w["name"]!));
        foreach (var line in written)
        {
            Assert.Equal("scored", (string)line["status"]!);
            Assert.InRange((int)line["best"]!, 0, line["responses"]!.AsArray().Count - 1);
            Assert.Equal(line["responses"]!.AsArray().Count, line["rewards"]!.AsArray().Count);
            Assert.Equal("scored", await worker.ScalarAsync<string>("SELECT status FROM scoring_jobs WHERE request_id = $1", (string)line["requestId"]!));
        }
        var reject = JsonNode.Parse(Assert.Single(File.ReadAllLines(Path.Combine(_dir, "out.rejects.jsonl"))))!;
        Assert.Equal(2, (int)reject["line"]!);
    }

    private Dictionary<string, string?> BrokerSettings()
    {
        var settings = ServiceSettings.Broker();
        settings["RabbitMq:ScoreQueue"] = worker.ScoreQueue;
        settings["RabbitMq:ResultExchange"] = WorkerFixture.ResultExchange;
        settings["Postgres:ConnectionString"] = worker.ConnectionString;
        return settings;
    }

    private async Task<long> Count(string sql, params object[] parameters) => await worker.ScalarAsync<long>(sql, parameters);

    private static List<JsonObject> Examples() =>
        [.. File.ReadAllLines(Path.Combine(ServiceSettings.RepoRoot, "examples", "jobs.jsonl"))
            .Where(l => l.Trim().Length > 0)
            .Select(l => JsonNode.Parse(l)!.AsObject())];
}
