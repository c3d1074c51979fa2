using System.Text.Json;
using GrmWorker.Testing;

namespace GrmWorker.Worker.Tests;

/// <summary>End to end: raw JSON in on the request queue, rows in Postgres, one result per requestId on grm.rewards.</summary>
[Collection(WorkerCollection.Name)]
public sealed class ScoreWorkerTests(WorkerFixture worker)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Each_request_gets_one_result_with_its_metadata_and_rows_that_match_it()
    {
        var route = WorkerFixture.NewRoute();
        var results = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, route);
        var requests = new[]
        {
            Request(route, ["4", "five"], new { trainer = "ppo", step = 17 }),
            Request(route, ["only one"], new { tags = new[] { "a", "b" } }),
            Request(route, ["x", "y", "z"], null),
        };
        foreach (var r in requests) await worker.Amqp.PublishAsync(worker.ScoreQueue, r);

        var delivered = await worker.Amqp.ReadAsync(results, requests.Length, Wait);

        Assert.Equal(requests.Length, delivered.Count);
        Assert.Empty(await worker.Amqp.ReadAsync(results, 1, TimeSpan.FromSeconds(1)));
        foreach (var request in requests)
        {
            var result = Assert.Single(delivered, d => d.Json.GetProperty("requestId").GetString() == request.requestId);
            var json = result.Json;
            Assert.Equal(route, result.RoutingKey);
            Assert.Equal(route, json.GetProperty("route").GetString());
            // The random-weight model never writes a parsable score line: every sample is invalid.
            Assert.Equal("failed", json.GetProperty("status").GetString());
            Assert.Equal("no_valid_samples", json.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal(WorkerFixture.KMax, json.GetProperty("samplesUsed").GetInt32());
            Assert.Equal(0, json.GetProperty("samplesValid").GetInt32());
            Assert.Equal("tiny-random-v1", json.GetProperty("modelId").GetString());
            Assert.Equal(-1, json.GetProperty("best").GetInt32());
            if (request.metadata is null)
                Assert.False(json.TryGetProperty("metadata", out _));
            else
                Assert.Equal(JsonSerializer.Serialize(request.metadata), json.GetProperty("metadata").GetRawText());

            var id = request.requestId;
            Assert.Equal("failed", await worker.ScalarAsync<string>("SELECT status FROM scoring_jobs WHERE request_id = $1", id));
            Assert.Equal("no_valid_samples", await worker.ScalarAsync<string>("SELECT error_code FROM scoring_jobs WHERE request_id = $1", id));
            Assert.Equal(request.responses.Length, await Count("job_responses", id));
            Assert.Equal(request.responses, await Texts(id));
            Assert.Equal(WorkerFixture.KMax, await Count("grm_samples", id));
            Assert.Equal(0L, await worker.ScalarAsync<long>(
                "SELECT count(*) FROM grm_samples s JOIN scoring_jobs j ON j.id = s.job_id WHERE j.request_id = $1 AND s.parse_status = 'ok'", id));
            Assert.Equal(0, await Count("scores", id));
            Assert.Equal(0, await Count("rewards", id));
            var tokens = json.GetProperty("tokens");
            Assert.Equal(tokens.GetProperty("prompt").GetInt64(), await worker.ScalarAsync<long>(
                "SELECT sum(s.prompt_tokens)::bigint FROM grm_samples s JOIN scoring_jobs j ON j.id = s.job_id WHERE j.request_id = $1", id));
            Assert.Equal(tokens.GetProperty("generated").GetInt64(), await worker.ScalarAsync<long>(
                "SELECT generated_tokens FROM scoring_jobs WHERE request_id = $1", id));
            Assert.InRange(tokens.GetProperty("generated").GetInt64(), 1, WorkerFixture.KMax * WorkerFixture.MaxNewTokens);
            // Every sample's permutation is a permutation of the request's response indices.
            var permutations = await worker.ScalarAsync<string>(
                "SELECT string_agg(array_to_string((SELECT array_agg(x ORDER BY x) FROM unnest(s.permutation) x), ','), ';') " +
                "FROM grm_samples s JOIN scoring_jobs j ON j.id = s.job_id WHERE j.request_id = $1", id);
            var identity = string.Join(',', Enumerable.Range(0, request.responses.Length));
            Assert.All(permutations!.Split(';'), p => Assert.Equal(identity, p));
        }
    }

    [Fact]
    public async Task A_known_request_id_is_not_run_again_and_gets_its_stored_result()
    {
        var route = WorkerFixture.NewRoute();
        var results = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, route);
        var request = Request(route, ["a", "b"], new { n = 1 });

        await worker.Amqp.PublishAsync(worker.ScoreQueue, request);
        var first = Assert.Single(await worker.Amqp.ReadAsync(results, 1, Wait));
        // Re-sent later (a new delivery) and twice at once (one batch): the stored result each time, no new rows.
        await worker.Amqp.PublishAsync(worker.ScoreQueue, request);
        await worker.Amqp.PublishAsync(worker.ScoreQueue, request with { query = "a different query, same id" });
        var again = await worker.Amqp.ReadAsync(results, 2, Wait);

        Assert.Equal(2, again.Count);
        Assert.Empty(await worker.Amqp.ReadAsync(results, 1, TimeSpan.FromSeconds(1)));
        foreach (var d in again)
        {
            Assert.Equal(route, d.RoutingKey);
            Assert.True(JsonElement.DeepEquals(first.Json, d.Json), $"expected {first.Body}, got {d.Body}");
        }
        Assert.Equal(1L, await worker.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = $1", request.requestId));
        Assert.Equal(WorkerFixture.KMax, await Count("grm_samples", request.requestId));
    }

    [Fact]
    public async Task A_known_request_id_re_sent_under_another_route_gets_its_stored_result_on_that_route()
    {
        var (first, second) = (WorkerFixture.NewRoute(), WorkerFixture.NewRoute());
        var firstResults = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, first);
        var secondResults = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, second);
        var request = Request(first, ["a", "b"], null);
        await worker.Amqp.PublishAsync(worker.ScoreQueue, request);
        var stored = Assert.Single(await worker.Amqp.ReadAsync(firstResults, 1, Wait));

        // e.g. a restarted trainer, or a gateway, listening on a route of its own
        await worker.Amqp.PublishAsync(worker.ScoreQueue, request with { route = second });
        var again = Assert.Single(await worker.Amqp.ReadAsync(secondResults, 1, Wait));

        Assert.Equal(second, again.RoutingKey);
        Assert.True(JsonElement.DeepEquals(stored.Json, again.Json), $"expected {stored.Body}, got {again.Body}");
        Assert.Empty(await worker.Amqp.ReadAsync(firstResults, 1, TimeSpan.FromMilliseconds(500)));
    }

    public static TheoryData<string, string, string> BadRequests() => new()
    {
        // name of the case, request JSON (requestId and route are added), expected code; the message must name the field
        { "query", """{"query":"","responses":["a"]}""", "invalid_request" },
        { "responses", """{"query":"q","responses":[]}""", "invalid_request" },
        { "responses", """{"query":"q","responses":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17","18","19","20","21","22","23","24","25","26","27","28","29","30","31","32","33","34","35","36","37","38","39","40","41","42","43","44","45","46","47","48","49","50","51","52","53","54","55","56","57","58","59","60","61","62","63","64","65"]}""", "too_large" },
        { "responses[1]", """{"query":"q","responses":["a",null]}""", "invalid_request" },
        { "kMax", """{"query":"q","responses":["a"],"kMax":0}""", "invalid_request" },
        { "kMax", """{"query":"q","responses":["a"],"kMax":65}""", "invalid_request" },
        { "kMin", """{"query":"q","responses":["a"],"kMax":2,"kMin":3}""", "invalid_request" },
        { "temperature", """{"query":"q","responses":["a"],"temperature":2.5}""", "invalid_request" },
        { "maxNewTokens", """{"query":"q","responses":["a"],"maxNewTokens":0}""", "invalid_request" },
        { "stopping", """{"query":"q","responses":["a"],"stopping":"sometimes"}""", "invalid_request" },
        { "aggregation", """{"query":"q","responses":["a"],"aggregation":"median"}""", "invalid_request" },
        { "aggregation", """{"query":"q","responses":["a"],"aggregation":"meta-rm"}""", "unsupported" },
        { "query", """{"query":"nul \u0000 inside","responses":["a"]}""", "invalid_request" },
        { "responses", """{"query":"q","responses":"not a list"}""", "invalid_request" },
        { "kMax", """{"query":"q","responses":["a"],"kMax":"three"}""", "invalid_request" },
        { "kMax", """{"query":"q","responses":["a"],"kMax":4,"kMax":8}""", "invalid_request" },
        { "query", """{"query":"q","query":"other","responses":["a"]}""", "invalid_request" },
        { "query", """{"query":"lone \ud800 high","responses":["a"]}""", "invalid_request" },
        { "responses[0]", """{"query":"q","responses":["lone \udc00 low"]}""", "invalid_request" },
        { "kMax", """{"query":"q","responses":["a"],"kMax":1e1000000}""", "invalid_request" },
        { "prompt tokens", """{"query":"q","responses":["a"],"maxNewTokens":4000}""", "too_large" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task A_bad_request_is_rejected_with_a_code_and_a_message_naming_the_field(string field, string body, string code)
    {
        var route = WorkerFixture.NewRoute();
        var results = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, route);
        var requestId = WorkerFixture.NewRequestId();
        var json = $$"""{"requestId":"{{requestId}}","route":"{{route}}","metadata":{"case":"{{field}}"},{{body[1..]}}""";

        await worker.Amqp.PublishAsync(worker.ScoreQueue, json);
        var result = Assert.Single(await worker.Amqp.ReadAsync(results, 1, Wait)).Json;

        Assert.Equal(requestId, result.GetProperty("requestId").GetString());
        Assert.Equal("rejected", result.GetProperty("status").GetString());
        Assert.Equal(code, result.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains(field, result.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(field, result.GetProperty("metadata").GetProperty("case").GetString());
        Assert.Equal(0, result.GetProperty("samplesUsed").GetInt32());
        Assert.Equal("rejected", await worker.ScalarAsync<string>("SELECT status FROM scoring_jobs WHERE request_id = $1", requestId));
        Assert.Equal(code, await worker.ScalarAsync<string>("SELECT error_code FROM scoring_jobs WHERE request_id = $1", requestId));
        Assert.Equal(0, await Count("grm_samples", requestId));
    }

    [Fact]
    public async Task Malformed_bodies_go_to_the_error_queue_with_a_reason_and_the_worker_keeps_serving()
    {
        var route = WorkerFixture.NewRoute();
        var results = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, route);
        var before = await worker.Amqp.CountAsync(worker.ErrorQueue) ?? 0;
        var good = Request(route, ["fine"], null);

        await worker.Amqp.PublishAsync(worker.ScoreQueue, "this is not json");
        await worker.Amqp.PublishAsync(worker.ScoreQueue, """{"query":"no id","responses":["a"]}""");
        await worker.Amqp.PublishAsync(worker.ScoreQueue, """{"requestId":"   ","query":"blank id","responses":["a"]}""");
        await worker.Amqp.PublishAsync(worker.ScoreQueue, """[1, 2, 3]""");
        await worker.Amqp.PublishAsync(worker.ScoreQueue, good);

        var result = Assert.Single(await worker.Amqp.ReadAsync(results, 1, Wait));
        Assert.Equal(good.requestId, result.Json.GetProperty("requestId").GetString());
        await Poll.UntilAsync(async () => await worker.Amqp.CountAsync(worker.ErrorQueue) >= before + 4, TimeSpan.FromSeconds(10),
            () => "four malformed bodies did not all reach the error queue", TimeSpan.FromMilliseconds(100));
        var errors = await worker.Amqp.ReadAsync(worker.ErrorQueue, 100, TimeSpan.FromSeconds(2));
        Assert.Contains(errors, e => e.Body == "this is not json" && e.Headers["MT-Fault-Message"]!.Contains("invalid JSON", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Body.Contains("no id", StringComparison.Ordinal) && e.Headers["MT-Fault-Message"]!.Contains("requestId", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Body.Contains("blank id", StringComparison.Ordinal) && e.Headers["MT-Fault-Message"]!.Contains("requestId", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Body == "[1, 2, 3]");
        Assert.Equal(0L, await worker.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id IN ('', '   ')"));
    }

    [Fact]
    public async Task Bodies_jsonb_cannot_hold_get_their_own_answer_loop_nowhere_and_leave_their_batch_alone()
    {
        var route = WorkerFixture.NewRoute();
        var results = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, route);
        var before = await worker.Amqp.CountAsync(worker.ErrorQueue) ?? 0;
        var good = Request(route, ["fine"], new { n = 1 });
        var badMetadata = WorkerFixture.NewRequestId();
        var hugeExtra = WorkerFixture.NewRequestId();

        // one batch: a valid job between bodies Postgres' jsonb would refuse
        await worker.Amqp.PublishAsync(worker.ScoreQueue, $$$"""{"requestId":"{{{badMetadata}}}","route":"{{{route}}}","query":"q","responses":["a"],"metadata":{"tag":"lone \ud800"}}""");
        await worker.Amqp.PublishAsync(worker.ScoreQueue, good);
        await worker.Amqp.PublishAsync(worker.ScoreQueue, $$"""{"requestId":"{{hugeExtra}}","route":"{{route}}","query":"q","responses":["a"],"extra":1e1000000}""");
        await worker.Amqp.PublishAsync(worker.ScoreQueue, $$"""{"requestId":"lone \udbff id","route":"{{route}}","query":"q","responses":["a"]}""");

        var answers = (await worker.Amqp.ReadAsync(results, 3, Wait)).ToDictionary(d => d.Json.GetProperty("requestId").GetString()!, d => d.Json);
        // this fixture's GRM has random weights: a job that runs ends scored or failed with no_valid_samples, its own outcome
        static bool Ran(JsonElement r) => r.GetProperty("samplesUsed").GetInt32() > 0 && r.GetProperty("status").GetString() != "rejected";
        Assert.True(Ran(answers[good.requestId]), answers[good.requestId].ToString());
        Assert.Equal(1, answers[good.requestId].GetProperty("metadata").GetProperty("n").GetInt32());
        Assert.Equal("rejected", answers[badMetadata].GetProperty("status").GetString());
        Assert.Equal("invalid_request", answers[badMetadata].GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("metadata.tag", answers[badMetadata].GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        // an unknown field is ignored as always; the body that holds it is kept out of the row, not the job
        Assert.True(Ran(answers[hugeExtra]), answers[hugeExtra].ToString());
        Assert.Null(await worker.ScalarAsync<string>("SELECT request::text FROM scoring_jobs WHERE request_id = $1", hugeExtra));
        // the requestId nobody can be answered under goes to the error queue once, and nothing stays queued
        await Poll.UntilAsync(async () => await worker.Amqp.CountAsync(worker.ErrorQueue) >= before + 1, TimeSpan.FromSeconds(10),
            () => "the body with an unanswerable requestId did not reach the error queue", TimeSpan.FromMilliseconds(100));
        var errors = await worker.Amqp.ReadAsync(worker.ErrorQueue, 100, TimeSpan.FromSeconds(2));
        Assert.Single(errors, e => e.Body.Contains("udbff id", StringComparison.Ordinal));
        Assert.Equal(0L, await worker.Amqp.CountAsync(worker.ScoreQueue));
    }

    private static TestRequest Request(string route, string[] responses, object? metadata) =>
        new(WorkerFixture.NewRequestId(), route, "Which answer is right: what is 2 + 2?", responses, metadata);

    private async Task<int> Count(string table, string requestId) => (int)await worker.ScalarAsync<long>(
        $"SELECT count(*) FROM {table} t JOIN scoring_jobs j ON j.id = t.job_id WHERE j.request_id = $1", requestId);

    private async Task<string[]> Texts(string requestId)
    {
        await using var command = worker.Database.CreateCommand(
            "SELECT r.text FROM job_responses r JOIN scoring_jobs j ON j.id = r.job_id WHERE j.request_id = $1 ORDER BY r.response_index");
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = requestId });
        var texts = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) texts.Add(reader.GetString(0));
        return [.. texts];
    }

    // Property names are the wire's (camelCase) when serialized with the default options.
#pragma warning disable IDE1006, CA1812
    private sealed record TestRequest(string requestId, string route, string query, string[] responses, object? metadata);
#pragma warning restore IDE1006, CA1812
}
