using GrmWorker.Cli.Commands;
using GrmWorker.Contracts;
using GrmWorker.Worker.Relabel;
using GrmWorker.Worker.Runs;

namespace GrmWorker.Worker.Tests;

/// <summary>Relabel's input handling without services: derived ids, checks per line, arguments.</summary>
public sealed class RelabelLineTests
{
    private const string Route = "relabel.test";

    [Fact]
    public void A_derived_request_id_ignores_whitespace_and_differs_per_occurrence_and_run_key()
    {
        var parser = Parser("key");
        Assert.True(parser.TryParse("""{"query":"q","responses":["a"]}""", 1, out var first, out _));
        Assert.True(parser.TryParse("""{ "query": "q", "responses": [ "a" ] }""", 2, out var repeat, out _));
        Assert.True(Parser("key").TryParse("""{"query":"q",   "responses":["a"]}""", 7, out var again, out _));
        Assert.True(Parser("other").TryParse("""{"query":"q","responses":["a"]}""", 1, out var otherKey, out _));

        Assert.StartsWith(RelabelRequestIds.Prefix, first!.RequestId, StringComparison.Ordinal);
        Assert.Equal(first.RequestId, again!.RequestId);
        Assert.NotEqual(first.RequestId, repeat!.RequestId);
        Assert.NotEqual(first.RequestId, otherKey!.RequestId);
        Assert.Equal(Route, first.Request.Route);
    }

    [Fact]
    public void A_line_keeps_its_own_request_id_and_route_and_unknown_fields_stay_out_of_the_request()
    {
        Assert.True(Parser().TryParse("""{"requestId":"mine","route":"trainer.a","query":"q","responses":["a","b"],"kMax":3,"label":1}""", 1, out var job, out _));

        Assert.Equal("mine", job!.RequestId);
        Assert.Equal("trainer.a", job.Request.Route);
        Assert.Equal(3, job.Request.KMax);
        Assert.DoesNotContain("label", job.Body, StringComparison.Ordinal);
        Assert.Equal(1, (int)job.Source["label"]!);
    }

    [Theory]
    [InlineData("{oops", "invalid_json", "JSON")]
    [InlineData("[1,2]", "invalid_json", "object")]
    [InlineData("""{"query":"q","responses":"a"}""", "invalid_request", "responses")]
    [InlineData("""{"query":"q","responses":["a"],"kMax":"3"}""", "invalid_request", "kMax")]
    [InlineData("""{"responses":["a"]}""", "invalid_request", "query")]
    [InlineData("""{"query":"q","responses":["a"],"stopping":"sometimes"}""", "invalid_request", "stopping")]
    [InlineData("""{"query":"q","responses":["a"],"route":"a.*"}""", "invalid_request", "route")]
    public void A_bad_line_is_rejected_with_a_code_and_a_message_naming_the_field(string line, string code, string field)
    {
        Assert.False(Parser().TryParse(line, 12, out _, out var reject));

        Assert.Equal(12, reject!.LineNumber);
        Assert.Equal(code, reject.Code);
        Assert.Contains(field, reject.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_request_id_used_twice_rejects_the_later_line()
    {
        var parser = Parser();
        Assert.True(parser.TryParse("""{"requestId":"x","query":"q","responses":["a"]}""", 1, out _, out _));
        Assert.False(parser.TryParse("""{"requestId":"x","query":"other","responses":["b"]}""", 4, out _, out var reject));

        Assert.Equal(RelabelReject.DuplicateRequestId, reject!.Code);
        Assert.Contains("line 1", reject.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("30m", 1800)]
    [InlineData("2h", 7200)]
    [InlineData("45", 45)]
    [InlineData("0.5", 0.5)]
    [InlineData("00:10:00", 600)]
    public void Timeouts_are_read_with_units_or_as_seconds(string text, double seconds)
    {
        Assert.True(RelabelCommand.TryParseDuration(text, out var value));
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("")]
    [InlineData("5x")]
    public void A_timeout_that_is_not_a_duration_is_refused(string text) => Assert.False(RelabelCommand.TryParseDuration(text, out _));

    [Fact]
    public async Task A_missing_input_file_exits_2_naming_the_file()
    {
        var dir = Directory.CreateTempSubdirectory("grm-relabel-").FullName;
        try
        {
            var (code, stderr) = await RunAsync(new RelabelArguments { Input = Path.Combine(dir, "missing.jsonl"), Output = Path.Combine(dir, "out.jsonl") });

            Assert.Equal(ExitCodes.BadInput, code);
            Assert.Contains("missing.jsonl", stderr, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(dir, "out.jsonl")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task No_store_without_local_exits_2_naming_both_options()
    {
        var dir = Directory.CreateTempSubdirectory("grm-relabel-").FullName;
        try
        {
            var input = Path.Combine(dir, "in.jsonl");
            await File.WriteAllTextAsync(input, """{"query":"q","responses":["a"]}""" + "\n");

            var (code, stderr) = await RunAsync(new RelabelArguments { Input = input, Output = Path.Combine(dir, "out.jsonl"), NoStore = true });

            Assert.Equal(ExitCodes.BadInput, code);
            Assert.Contains("--no-store needs --local", stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task An_unreachable_broker_exits_4_and_leaves_OUT_with_what_was_done()
    {
        var dir = Directory.CreateTempSubdirectory("grm-relabel-").FullName;
        try
        {
            var input = Path.Combine(dir, "in.jsonl");
            await File.WriteAllTextAsync(input, """{"query":"q","responses":["a"]}""" + "\n");
            var settings = new Dictionary<string, string?>
            {
                ["RabbitMq:Host"] = "127.0.0.1",
                ["RabbitMq:Port"] = "1",
                ["RabbitMq:Username"] = "nobody",
            };

            var (code, stderr) = await RunAsync(new RelabelArguments { Input = input, Output = Path.Combine(dir, "out.jsonl"), Json = true }, settings);

            Assert.Equal(ExitCodes.Unavailable, code);
            Assert.Contains("RabbitMQ is not reachable at 127.0.0.1:1", stderr, StringComparison.Ordinal);
            Assert.Equal("", await File.ReadAllTextAsync(Path.Combine(dir, "out.jsonl")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static RelabelLineParser Parser(string runKey = "k") => new(runKey, Route, new ValidationLimits());

    private static async Task<(int Code, string Stderr)> RunAsync(RelabelArguments args, Dictionary<string, string?>? settings = null)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await RelabelCommand.RunAsync(args, new RunEnvironment(stdout, stderr) { Settings = settings ?? [] }, CancellationToken.None);
        return (code, stderr.ToString());
    }
}
