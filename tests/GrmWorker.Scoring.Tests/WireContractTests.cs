using System.Text.Json;
using GrmWorker.Contracts;

namespace GrmWorker.Scoring.Tests;

public class WireContractTests
{
    [Fact]
    public void Request_reads_camel_case_json_and_keeps_metadata_untouched()
    {
        const string json = """
            {"requestId":"r1","query":"q","responses":["a","b"],"kMax":16,"seed":12345678901,
             "stopping":"adaptive","aggregation":"meta-rm","metadata":{"step":3,"tags":["x"]}}
            """;

        var request = JsonSerializer.Deserialize<ScoreRequest>(json, WireJson.Options)!;

        Assert.Equal("r1", request.RequestId);
        Assert.Equal("default", request.Route);
        Assert.Equal(16, request.KMax);
        Assert.Equal(12345678901L, request.Seed);
        Assert.Equal(AggregationKind.MetaRm, request.Aggregation);
        Assert.Equal("""{"step":3,"tags":["x"]}""", request.Metadata!.Value.GetRawText());
    }

    [Fact]
    public void Result_writes_camel_case_and_leaves_out_nulls()
    {
        var result = new ScoreResult { RequestId = "r1", Status = ScoreStatus.Scored, Rewards = [7.5, 3], VoteSums = [30, 12], Best = 0 };

        var json = JsonSerializer.Serialize(result, WireJson.Options);

        Assert.Contains("\"requestId\":\"r1\"", json);
        Assert.Contains("\"voteSums\":[30,12]", json);
        Assert.Contains("\"tokens\":{\"prompt\":0,\"generated\":0}", json);
        Assert.DoesNotContain("\"error\"", json);
    }

    [Theory]
    [InlineData("""{"query":"q","responses":["a"]}""", "requestId")]
    [InlineData("""{"requestId":"r","query":"q","responses":[]}""", "responses")]
    [InlineData("""{"requestId":"r","query":"q","responses":["a"],"kMax":0}""", "kMax")]
    [InlineData("""{"requestId":"r","query":"q","responses":["a"],"stopping":"never"}""", "stopping")]
    [InlineData("""{"requestId":"r","query":"q","responses":["a"],"route":"a.*"}""", "route")]
    public void Validator_names_the_offending_field(string json, string field)
    {
        var request = JsonSerializer.Deserialize<ScoreRequest>(json, WireJson.Options)!;

        var failure = ScoreRequestValidator.Validate(request, new ValidationLimits());

        Assert.NotNull(failure);
        Assert.Contains(field, failure.Message);
    }

    [Fact]
    public void Metadata_over_its_limit_is_too_large_and_left_out_of_the_answer()
    {
        var request = JsonSerializer.Deserialize<ScoreRequest>("""{"requestId":"r","query":"q","responses":["a"],"metadata":{"tag":"0123456789"}}""", WireJson.Options)!;

        var failure = ScoreRequestValidator.Validate(request, new ValidationLimits { MaxMetadataBytes = 16 });

        Assert.Equal(ErrorCodes.TooLarge, failure?.Code);
        Assert.StartsWith("metadata is 20 bytes of JSON, more than 16", failure!.Message, StringComparison.Ordinal);
        Assert.False(ScoreRequestValidator.MetadataFits(request, new ValidationLimits { MaxMetadataBytes = 16 }));
        Assert.Null(ScoreRequestValidator.Validate(request, new ValidationLimits { MaxMetadataBytes = 20 }));
    }

    [Fact]
    public void Validator_accepts_a_plain_request()
    {
        var request = new ScoreRequest { RequestId = "r", Query = "q", Responses = ["a", "b"] };

        Assert.Null(ScoreRequestValidator.Validate(request, new ValidationLimits()));
    }
}
