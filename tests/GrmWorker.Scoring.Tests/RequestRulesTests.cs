using System.Text.Json;
using GrmWorker.Contracts;

namespace GrmWorker.Scoring.Tests;

/// <summary>The rules about a request itself: whom a result can answer, which route it goes to, what can be stored.</summary>
public class RequestRulesTests
{
    [Theory]
    [InlineData(null, "the body has no requestId (a non-empty string is required)")]
    [InlineData(" ", "the body has no requestId (a non-empty string is required)")]
    [InlineData("a\0b", "requestId contains a NUL character (U+0000)")]
    [InlineData("fine", null)]
    public void A_requestId_that_cannot_be_answered_is_named(string? requestId, string? problem) =>
        Assert.Equal(problem, RequestRules.RequestIdProblem(requestId));

    [Fact]
    public void A_requestId_longer_than_the_limit_cannot_be_answered()
    {
        Assert.Null(RequestRules.RequestIdProblem(new string('x', RequestRules.MaxRequestIdLength)));
        Assert.Equal($"requestId is longer than {RequestRules.MaxRequestIdLength} characters",
            RequestRules.RequestIdProblem(new string('x', RequestRules.MaxRequestIdLength + 1)));
    }

    [Theory]
    [InlineData("trainer.a", "trainer.a")]
    [InlineData(null, RequestRules.DefaultRoute)]
    [InlineData("", RequestRules.DefaultRoute)]
    [InlineData("a\0b", RequestRules.DefaultRoute)]
    public void An_unusable_route_is_answered_on_the_default_route(string? route, string key) =>
        Assert.Equal(key, RequestRules.RoutingKey(route));

    [Fact]
    public void A_route_over_255_utf8_bytes_is_not_a_routing_key()
    {
        Assert.Equal(new string('é', 127), RequestRules.RoutingKey(new string('é', 127)));
        Assert.Equal(RequestRules.DefaultRoute, RequestRules.RoutingKey(new string('é', 128)));
    }

    [Fact]
    public void Text_the_worker_made_is_stored_with_U_FFFD_for_each_NUL() =>
        Assert.Equal("a\uFFFDb\uFFFD", RequestRules.Storable("a\0b\0"));

    [Theory]
    [InlineData("""{"requestId":"r","query":"q\u0000","responses":["a"]}""", "query contains a NUL character (U+0000)")]
    [InlineData("""{"requestId":"r","query":"q","responses":["a","b\u0000"]}""", "responses[1] contains a NUL character (U+0000)")]
    [InlineData("""{"requestId":"r","route":"x\u0000","query":"q\u0000","responses":["a"]}""", "route contains a NUL character (U+0000)")]
    [InlineData("""{"requestId":"r","query":"q","responses":["a"],"metadata":{"tag":"x\u0000"}}""",
        "metadata.tag has a NUL character (U+0000); metadata is stored as JSON and echoed back, so it must be storable")]
    [InlineData("""{"requestId":"r","query":"q","responses":["a"],"metadata":{"n":1e400}}""",
        "metadata.n is a number out of range; metadata is stored as JSON and echoed back, so it must be storable")]
    public void A_field_Postgres_cannot_store_rejects_the_request(string json, string message)
    {
        var request = JsonSerializer.Deserialize<ScoreRequest>(json, WireJson.Options)!;

        var failure = RequestRules.UnstorableField(request);

        Assert.Equal(new ValidationFailure(ErrorCodes.InvalidRequest, message), failure);
    }

    [Fact]
    public void A_lone_surrogate_rejects_the_request_after_a_NUL()
    {
        var request = new ScoreRequest { RequestId = "r", Query = "q\ud800", Responses = ["a", "b\0"] };

        Assert.Equal("responses[1] contains a NUL character (U+0000)", RequestRules.UnstorableField(request)?.Message);
        Assert.Equal("query has a lone UTF-16 surrogate", RequestRules.UnstorableField(request with { Responses = ["a"] })?.Message);
    }

    [Theory]
    [InlineData("""{"a":1}""", true)]
    [InlineData("""{"a":"\u0000"}""", false)]
    [InlineData("""{"a\u0000":1}""", false)]
    [InlineData("not json", false)]
    public void A_body_jsonb_cannot_hold_is_left_out_of_the_row(string body, bool kept) =>
        Assert.Equal(kept ? body : null, RequestRules.StorableJson(body));
}
