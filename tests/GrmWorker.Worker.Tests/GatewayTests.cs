using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace GrmWorker.Worker.Tests;

/// <summary>`grm gateway` against the bundled GRM worker: OpenRLHF's /get_reward grouped by prompt, /v1/score, and its refusals.</summary>
[Collection(BundledGrmCollection.Name)]
public sealed class GatewayTests(BundledGrmWorkerFixture worker)
{
    [Fact]
    public async Task Get_reward_scores_each_prompts_responses_as_one_job_and_returns_rewards_in_query_order()
    {
        await using var gateway = await GatewayServer.StartAsync(worker.ScoreQueue);
        string[] prompts = ["Which is right: 12 + 7?", "Which is right: 5 * 6?"];
        // OpenRLHF sends prompt + response, a rollout's n samples of one prompt interleaved with another's
        (int Prompt, string Response)[] items = [(0, " 19"), (1, " 30"), (0, " 21"), (1, " 11"), (0, " 19.0")];

        var (status, body) = await gateway.PostAsync("/get_reward", new
        {
            query = items.Select(i => prompts[i.Prompt] + i.Response).ToArray(),
            prompts = items.Select(i => prompts[i.Prompt]).ToArray(),
            labels = items.Select(i => i.Prompt == 0 ? "19" : "30").ToArray(),
        });

        Assert.True(status == 200, body.ToString());
        var rewards = body.GetProperty("rewards").EnumerateArray().Select(r => r.GetDouble()).ToArray();
        Assert.Equal(items.Length, rewards.Length);
        Assert.All(rewards, r => Assert.True(double.IsFinite(r)));
        Assert.Equal(rewards, body.GetProperty("scores").EnumerateArray().Select(r => r.GetDouble()));
        Assert.Equal(items.Length, body.GetProperty("extra_logs").GetProperty("grm_samples_used").GetArrayLength());
        // one stored job per prompt, its responses in the call's order, the label as reference
        Assert.Equal(2L, await worker.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE route = $1", gateway.Route));
        var stored = await worker.ScalarAsync<string[]>(
            "SELECT array_agg(r.text ORDER BY r.response_index) FROM job_responses r JOIN scoring_jobs j ON j.id = r.job_id WHERE j.route = $1 AND j.request->>'query' = $2",
            gateway.Route, prompts[0]);
        Assert.Equal([" 19", " 21", " 19.0"], stored ?? []);
        Assert.Equal("19", await worker.ScalarAsync<string>("SELECT request->>'reference' FROM scoring_jobs WHERE route = $1 AND request->>'query' = $2", gateway.Route, prompts[0]));
        // the rewards of each response are its job's rewards, in its job's order
        var jobRewards = await worker.ScalarAsync<string>("SELECT result->>'rewards' FROM scoring_jobs WHERE route = $1 AND request->>'query' = $2", gateway.Route, prompts[1]);
        Assert.Equal(JsonSerializer.Deserialize<double[]>(jobRewards!) ?? [], new[] { rewards[1], rewards[3] });
    }

    [Fact]
    public async Task V1_score_takes_our_request_and_returns_our_result()
    {
        await using var gateway = await GatewayServer.StartAsync(worker.ScoreQueue);
        var id = WorkerFixture.NewRequestId();

        var (status, body) = await gateway.PostAsync("/v1/score", new { requestId = id, query = "Which is right: 9 - 4?", responses = new[] { "5", "4" }, metadata = new { step = 3 } });

        Assert.True(status == 200, body.ToString());
        Assert.Equal(id, body.GetProperty("requestId").GetString());
        Assert.Equal("scored", body.GetProperty("status").GetString());
        Assert.Equal(2, body.GetProperty("rewards").GetArrayLength());
        Assert.Equal(3, body.GetProperty("metadata").GetProperty("step").GetInt32());
        // the same requestId again: the stored result, no second run
        var (again, second) = await gateway.PostAsync("/v1/score", new { requestId = id, query = "Which is right: 9 - 4?", responses = new[] { "5", "4" } });
        Assert.Equal(200, again);
        Assert.Equal(body.GetProperty("rewards").ToString(), second.GetProperty("rewards").ToString());
        Assert.Equal(1L, await worker.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = $1", id));
    }

    public static TheoryData<string, string, string> BadCalls() => new()
    {
        { "/get_reward", """{"query":"not a list","prompts":["p"]}""", "query must be a list of strings" },
        { "/get_reward", """{"query":["p a"]}""", "prompts is required" },
        { "/get_reward", """{"query":["p a","p b"],"prompts":["p"]}""", "prompts must have one entry per query (2), not 1" },
        { "/get_reward", """{"query":["p a","x b"],"prompts":["p","p"]}""", "query[1] does not start with prompts[1]" },
        { "/get_reward", """{"query":["p a","p b"],"prompts":["p","p"],"labels":["1","2"]}""", "labels[1] differs from labels[0]" },
        { "/get_reward", """{"query":[],"prompts":[]}""", "query must hold at least one text" },
        { "/get_reward", """{"query":["p a"],"prompts":["p"],"query":["p b"]}""", "the body is not valid JSON" },
        { "/v1/score", """{"requestId":"r","query":"q","responses":["a"],"kMax":"three"}""", "kMax has the wrong JSON type" },
        { "/v1/score", """{"requestId":"r","query":"","responses":["a"]}""", "query is required" },
        { "/v1/score", """{"query":"q","responses":["a"]}""", "requestId is required" },
        { "/v1/score", "not json", "the body is not valid JSON" },
        // no text at all: GetString throws on these, which answered 500
        { "/get_reward", """{"query":["p \ud800"],"prompts":["p"]}""", "query[0] has a lone UTF-16 surrogate" },
        { "/get_reward", """{"query":["p a"],"prompts":["p"],"labels":["\udc00"]}""", "labels[0] has a lone UTF-16 surrogate" },
        { "/v1/score", """{"requestId":"r","query":"q","responses":["a"],"metadata":{"t":"\ud800"}}""", "metadata.t has a lone UTF-16 surrogate" },
        // what the worker would only reject after a round trip (a 502 for /get_reward), refused up front
        { "/get_reward", """{"query":["p a\u0000"],"prompts":["p"]}""", "the job for prompts[0] and its 1 responses: responses[0] contains a NUL character" },
        // the worker answers no result under such a requestId (error queue): the call waited out Gateway:Timeout
        { "/v1/score", """{"requestId":"r\u0000","query":"q","responses":["a"]}""", "requestId contains a NUL character" },
        { "/v1/score", "[1, 2]", "the body must be a JSON object" },
        { "/v1/score", "42", "the body must be a JSON object" },
        { "/v1/score", $$"""{"requestId":"r","query":"q","responses":["a"],"metadata":{{new string('[', 5000)}}{{new string(']', 5000)}}}""", "the body is not valid JSON: The maximum configured depth" },
        { "/v1/score", $$"""{"requestId":"r","query":"q","responses":[{{string.Join(",", Enumerable.Range(0, 1000).Select(i => $"\"r{i}\""))}}]}""", "responses holds 1000 items" },
    };

    [Theory]
    [MemberData(nameof(BadCalls))]
    public async Task A_bad_call_is_answered_400_with_the_field_named(string path, string json, string message)
    {
        await using var gateway = await GatewayServer.StartAsync(worker.ScoreQueue);

        var (status, body) = await gateway.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

        Assert.Equal(400, status);
        Assert.Contains(message, body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_gateway_checks_calls_against_the_configured_validation_limits()
    {
        await using var gateway = await GatewayServer.StartAsync(worker.ScoreQueue, new Dictionary<string, string?> { ["Validation:MaxResponses"] = "2" });
        var call = new { requestId = WorkerFixture.NewRequestId(), query = "Which is right: 2 + 2?", responses = new[] { "4", "5", "22" } };

        var (status, body) = await gateway.PostAsync("/v1/score", call);

        Assert.Equal(400, status);
        Assert.Equal("too_large", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("more than 2", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_token_set_calls_without_it_are_refused_and_health_stays_open()
    {
        await using var gateway = await GatewayServer.StartAsync(worker.ScoreQueue, new Dictionary<string, string?> { ["Gateway:BearerToken"] = "s3cret" });
        var call = new { requestId = WorkerFixture.NewRequestId(), query = "Which is right: 2 + 2?", responses = new[] { "4" } };

        Assert.Equal(401, (await gateway.PostAsync("/v1/score", call)).Status);
        Assert.Equal(401, (await gateway.PostAsync("/v1/score", call, token: "wrong")).Status);
        Assert.Equal(200, (await gateway.PostAsync("/v1/score", call, token: "s3cret")).Status);
        using var health = await gateway.Http.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(200, (int)health.StatusCode);
    }

    [Fact]
    public async Task No_worker_answering_is_a_504_with_the_reason_and_a_body_over_the_limit_a_413()
    {
        await using var gateway = await GatewayServer.StartAsync($"grm.score.nobody-{Guid.NewGuid():N}", new Dictionary<string, string?>
        {
            ["Gateway:Timeout"] = "00:00:01",
            ["Gateway:MaxRequestBytes"] = "4096",
        });

        var (status, body) = await gateway.PostAsync("/get_reward", new { query = new[] { "p a" }, prompts = new[] { "p" } });
        Assert.Equal(504, status);
        Assert.Contains("did not all finish within 00:00:01", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        var (tooLarge, _) = await gateway.PostAsync("/v1/score", new { requestId = "r", query = new string('q', 10_000), responses = new[] { "a" } });
        Assert.Equal(413, tooLarge);
    }
}

/// <summary>Bodies a trainer's HTTP client can get wrong: each answered with a code (a 400 naming the field) or scored, never a 500 or a wait for the timeout.</summary>
[Collection(WorkerCollection.Name)]
public sealed class GatewayHostileInputTests(WorkerFixture worker)
{
    [Fact]
    public async Task Text_that_is_not_utf8_is_a_400_naming_the_field_on_both_endpoints()
    {
        await using var gateway = await GatewayServer.StartAsync(worker.ScoreQueue);
        byte[] Latin1(string before, string after) => [.. Encoding.UTF8.GetBytes(before), 0xE9, .. Encoding.UTF8.GetBytes(after)];

        var (reward, rewardBody) = await gateway.PostAsync("/get_reward", Bytes(Latin1("{\"query\":[\"p caf", "\"],\"prompts\":[\"p\"]}")));
        var (meta, metaBody) = await gateway.PostAsync("/v1/score", Bytes(Latin1("{\"requestId\":\"r\",\"query\":\"q\",\"responses\":[\"a\"],\"metadata\":{\"t\":\"caf", "\"}}")));

        Assert.True(reward == 400, rewardBody.ToString());
        Assert.Contains("query[0] holds bytes that are not UTF-8", rewardBody.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(meta == 400, metaBody.ToString());
        Assert.Equal("invalid_request", metaBody.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("metadata.t holds bytes that are not UTF-8", metaBody.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0L, await worker.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE route = $1", gateway.Route));
    }

    [Fact]
    public async Task A_request_id_of_200_characters_and_328_utf8_bytes_is_scored_and_answered()
    {
        await using var gateway = await GatewayServer.StartAsync(worker.ScoreQueue, new Dictionary<string, string?> { ["Gateway:Timeout"] = "00:00:30" });
        var id = WorkerFixture.NewRequestId() + string.Concat(Enumerable.Repeat("€", 100));

        var (status, body) = await gateway.PostAsync("/v1/score", new { requestId = id, query = "Which is right: 2 + 2?", responses = new[] { "4", "5" } });

        Assert.True(status == 200, body.ToString());
        Assert.Equal(id, body.GetProperty("requestId").GetString());
        Assert.True(body.GetProperty("samplesUsed").GetInt32() > 0, body.ToString());
        Assert.Equal(1L, await worker.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = $1", id));
    }

    [Fact]
    public async Task The_body_is_read_as_json_whatever_its_content_type()
    {
        await using var gateway = await GatewayServer.StartAsync(worker.ScoreQueue);
        var id = WorkerFixture.NewRequestId();

        var (status, body) = await gateway.PostAsync("/v1/score", new StringContent(
            $$"""{"requestId":"{{id}}","query":"Which is right: 2 + 2?","responses":["4","5"]}""", Encoding.UTF8, "text/plain"));

        Assert.True(status == 200, body.ToString());
        Assert.Equal(id, body.GetProperty("requestId").GetString());
        Assert.Equal(1L, await worker.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = $1", id));
    }

    private static ByteArrayContent Bytes(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }
}

/// <summary>A job that ends without rewards (tiny-random's samples never parse): 502 naming it, or the reward the operator chose.</summary>
[Collection(WorkerCollection.Name)]
public sealed class GatewayUnscoredTests(WorkerFixture worker)
{
    [Fact]
    public async Task An_unscored_job_is_a_502_naming_it_unless_a_reward_for_it_is_configured()
    {
        var call = new { query = new[] { "p a", "p b" }, prompts = new[] { "p", "p" } };
        await using (var strict = await GatewayServer.StartAsync(worker.ScoreQueue))
        {
            var (status, body) = await strict.PostAsync("/get_reward", call);
            Assert.Equal(502, status);
            Assert.Contains("failed: no_valid_samples", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        await using var lenient = await GatewayServer.StartAsync(worker.ScoreQueue, new Dictionary<string, string?> { ["Gateway:UnscoredReward"] = "-1" });
        var (ok, rewards) = await lenient.PostAsync("/get_reward", call);
        Assert.Equal(200, ok);
        Assert.Equal([-1.0, -1.0], rewards.GetProperty("rewards").EnumerateArray().Select(r => r.GetDouble()));
    }
}

/// <summary>The README's OpenRLHF example, run as written against the gateway and the bundled GRM worker.</summary>
[Collection(BundledGrmCollection.Name)]
public sealed class OpenRlhfExampleTests(BundledGrmWorkerFixture worker)
{
    [Fact]
    public async Task The_openrlhf_example_gets_one_reward_per_query_from_the_gateway()
    {
        await using var gateway = await GatewayServer.StartAsync(worker.ScoreQueue);
        var start = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3", [Path.Combine(ServiceSettings.RepoRoot, "examples", "python", "openrlhf_example.py")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["GRM_GATEWAY_URL"] = gateway.Http.BaseAddress!.ToString().TrimEnd('/');

        using var python = System.Diagnostics.Process.Start(start)!;
        var stdout = python.StandardOutput.ReadToEndAsync();
        var stderr = python.StandardError.ReadToEndAsync();
        await python.WaitForExitAsync();

        Assert.True(python.ExitCode == 0, $"exit {python.ExitCode}: {await stderr}");
        var rewards = JsonSerializer.Deserialize<double[]>(await stdout)!;
        Assert.Equal(4, rewards.Length);
        Assert.All(rewards, r => Assert.True(double.IsFinite(r)));
    }
}
