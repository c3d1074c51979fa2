using System.Text.Json;
using System.Xml.Linq;
using GrmWorker.Cli.Commands;
using GrmWorker.Testing;
using GrmWorker.Worker.Pipeline;
using GrmWorker.Worker.Runs;
using Microsoft.Extensions.DependencyInjection;

namespace GrmWorker.Worker.Tests;

/// <summary>
/// `grm eval` in-process: on the bundled random model (real generation, gibberish text), and on replayed GRM texts
/// whose scores are known, so every accuracy is checked against a hand count. No services needed.
/// </summary>
public sealed class EvalCommandTests : IDisposable
{
    private static readonly string TinyRandom = Path.Combine(ServiceSettings.RepoRoot, "models", "tiny-random");

    /// <summary>voting@4 of the bundled GRM on the first 6 held-out items (seeded generation, one thread).</summary>
    private const double VotingAt4OnFirstSix = 0.5;

    private readonly string _dir = Directory.CreateTempSubdirectory("grm-eval-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Eval_on_the_random_model_prints_every_figure_as_json_and_writes_the_plot_and_samples()
    {
        var data = Write("held-out.jsonl",
            """{"id": "add", "query": "What is 2 + 2?", "responses": ["4", "5"], "best": 0}""",
            """{"query": "Sort 3, 1, 2.", "responses": ["1, 3, 2", "1, 2, 3", "3, 2, 1"], "best": 1, "reference": "1, 2, 3"}""",
            """{"query": "Reverse 'abc'.", "responses": ["cba", "abc"], "best": 0}""");
        var plot = Path.Combine(_dir, "accuracy.svg");
        var dump = Path.Combine(_dir, "samples.jsonl");
        var args = new EvalCommand.Arguments(data, ModelDirectory: TinyRandom, MetaRmDirectory: Path.Combine(TinyRandom, "meta-rm"), Ks: "2,1",
            MaxNewTokens: 4, Threads: 1, Json: true, PlotPath: plot, DumpSamplesPath: dump, ErrorBounds: "0.5, 0.1");

        var (code, stdout, stderr) = await RunAsync(args);

        Assert.True(code == 0, stderr);
        Assert.Equal("", stderr);
        var json = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(3, json.GetProperty("items").GetInt32());
        Assert.Equal(2, json.GetProperty("kMax").GetInt32());
        Assert.Equal([1, 2], json.GetProperty("ks").EnumerateArray().Select(k => k.GetInt32()));
        Assert.Equal("tiny-random-v1", json.GetProperty("modelId").GetString());
        Assert.Equal("tiny-random-meta-rm-v1", json.GetProperty("metaRmModelId").GetString());
        Assert.Equal(["1", "2"], json.GetProperty("voting").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["1", "2"], json.GetProperty("metaRm").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["1", "2"], json.GetProperty("standardErrors").GetProperty("voting").EnumerateObject().Select(p => p.Name));
        // Four tokens of a random-weight model never hold a parseable score: nothing valid, nothing right.
        Assert.Equal(0, json.GetProperty("greedy").GetDouble());
        Assert.Equal(0, json.GetProperty("parseValidRate").GetDouble());
        Assert.Equal(0, json.GetProperty("greedyParseValidRate").GetDouble());
        var adaptive = json.GetProperty("adaptive");
        Assert.Equal(2, adaptive.GetProperty("meanSamples").GetDouble());
        Assert.Equal(1, adaptive.GetProperty("samplesFraction").GetDouble());
        Assert.Equal(0, adaptive.GetProperty("accuracy").GetDouble());
        Assert.Equal(0.02, adaptive.GetProperty("errorBound").GetDouble());
        var sweep = json.GetProperty("adaptiveSweep").EnumerateArray().ToArray();
        Assert.Equal([0.1, 0.5], sweep.Select(a => a.GetProperty("errorBound").GetDouble()));
        Assert.All(sweep, a => Assert.Equal(2, a.GetProperty("meanSamples").GetDouble())); // k_min = k_max = 2
        Assert.Equal(6, json.GetProperty("samples").GetInt32());
        Assert.True(json.GetProperty("generatedTokens").GetInt64() > 0);
        Assert.True(json.GetProperty("seconds").GetDouble() > 0);

        var svg = XDocument.Load(plot).Root!;
        Assert.Equal("svg", svg.Name.LocalName);
        Assert.Contains(svg.Descendants(), e => e.Name.LocalName == "polyline");

        var lines = File.ReadAllLines(dump).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal([0, 0, 1, 1, 2, 2], lines.Select(l => l.GetProperty("item").GetInt32()));
        Assert.Equal([0, 1, 0, 1, 0, 1], lines.Select(l => l.GetProperty("sample").GetInt32()));
        Assert.Equal("add", lines[0].GetProperty("id").GetString());
        Assert.Equal(JsonValueKind.Null, lines[2].GetProperty("id").ValueKind);
        Assert.Equal(3, lines[2].GetProperty("permutation").GetArrayLength());
        foreach (var name in new[] { "seed", "text", "parseStatus", "scores", "metaScore", "best", "ranksBestFirst", "generatedTokens" })
            Assert.True(lines[0].TryGetProperty(name, out _), name);
        Assert.All(lines, l => Assert.NotEqual("ok", l.GetProperty("parseStatus").GetString()));
    }

    [Fact]
    public async Task Eval_of_the_bundled_grm_on_its_held_out_file_parses_its_samples_and_reads_its_meta_rm_from_the_config()
    {
        var bundled = Path.Combine(ServiceSettings.RepoRoot, "models", "grm-tiny");
        var args = new EvalCommand.Arguments(Path.Combine(bundled, "heldout.jsonl"), ModelDirectory: bundled, Ks: "1,4", Limit: 6,
            MaxNewTokens: 256, Threads: 1, Json: true);

        var (code, stdout, stderr) = await RunAsync(args);

        Assert.True(code == 0, stderr);
        var json = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(6, json.GetProperty("items").GetInt32());
        Assert.Equal("grm-tiny-v2", json.GetProperty("modelId").GetString());
        Assert.Equal("grm-tiny-v2-meta-rm", json.GetProperty("metaRmModelId").GetString());
        Assert.Equal(24, json.GetProperty("samples").GetInt32());
        // The trained model writes the output format: nearly every sample parses (99.6% over 6,400 held-out samples).
        Assert.InRange(json.GetProperty("parseValidRate").GetDouble(), 0.8, 1);
        // Generation is seeded per item: the same 6 items give the same samples every run (3 of 6 right by voting@4; the golden test BundledGrmGoldenTests pins the same determinism).
        Assert.Equal(VotingAt4OnFirstSix, json.GetProperty("voting").GetProperty("4").GetDouble());
    }

    [Fact]
    public async Task Eval_reports_greedy_voting_meta_rm_and_adaptive_accuracy_as_counted_by_hand()
    {
        var data = Write("known.jsonl",
            """{"id": "a", "query": "q a", "responses": ["right", "wrong"], "best": 0}""",
            """{"id": "b", "query": "q b", "responses": ["wrong", "right"], "best": 1}""",
            """{"id": "c", "query": "q c", "responses": ["tied", "tied too", "wrong"], "best": 0}""");
        var replay = CannedGrmGenerator.Load(TinyRandom);
        // a: every sample right. b: sample 0 wrong, the rest right. c: a tie for the top in every sample (wrong).
        replay.AddScored("a", null, 2, 4, (_, i) => i == 0 ? 8 : 5);
        replay.AddScored("b", null, 2, 4, (j, i) => j == 0 ? (i == 0 ? 7 : 6) : (i == 0 ? 4 : 8));
        replay.AddScored("c", null, 3, 4, (_, i) => i == 2 ? 2 : 6);
        var args = new EvalCommand.Arguments(data, ModelDirectory: TinyRandom, Ks: "1,2,4", Json: true, DumpSamplesPath: Path.Combine(_dir, "s.jsonl"));

        var (code, stdout, stderr) = await RunAsync(args, services =>
        {
            services.AddSingleton<IGrmGenerator>(replay);
            services.AddSingleton(MetaScorerAvailability.Loaded(new DescendingMetaScorer()));
        });

        Assert.True(code == 0, stderr);
        var json = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(0, json.GetProperty("greedy").GetDouble()); // the replay has no greedy text: unparsable, so wrong
        Assert.Equal(0, json.GetProperty("greedyParseValidRate").GetDouble());
        Assert.Equal(1, json.GetProperty("parseValidRate").GetDouble());
        Assert.Equal([1.0 / 3, 2.0 / 3, 2.0 / 3], json.GetProperty("voting").EnumerateObject().Select(p => p.Value.GetDouble()));
        // The earlier sample gets the higher meta score: k_meta = 1 of 2 keeps b's wrong sample 0; 2 of 4 outvote it.
        Assert.Equal([1.0 / 3, 1.0 / 3, 2.0 / 3], json.GetProperty("metaRm").EnumerateObject().Select(p => p.Value.GetDouble()));
        Assert.Equal("test-meta-rm", json.GetProperty("metaRmModelId").GetString());
        var adaptive = json.GetProperty("adaptive");
        Assert.Equal(2.0 / 3, adaptive.GetProperty("accuracy").GetDouble());
        // k_min 2: a's unanimous 8-vs-5 settles after 2 samples; b (its first sample wrong) and the tie c draw all 4.
        Assert.Equal(10.0 / 3, adaptive.GetProperty("meanSamples").GetDouble(), 12);
        Assert.Equal(Math.Sqrt((2.0 / 3) * (1.0 / 3) / 3), json.GetProperty("standardErrors").GetProperty("voting").GetProperty("4").GetDouble(), 12);

        var lines = File.ReadAllLines(Path.Combine(_dir, "s.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(12, lines.Length);
        Assert.Equal([true, true, true, true, false, true, true, true, false, false, false, false],
            lines.Select(l => l.GetProperty("ranksBestFirst").GetBoolean()));
        Assert.Equal(-4, lines[4].GetProperty("metaScore").GetDouble());
        Assert.Equal([7, 6], lines[4].GetProperty("scores").EnumerateArray().Select(s => s.GetInt32()));
        Assert.Equal("ok", lines[4].GetProperty("parseStatus").GetString());
    }

    [Fact]
    public async Task The_table_shows_each_strategy_and_the_parse_valid_rates()
    {
        var data = Write("one.jsonl", """{"id": "a", "query": "q", "responses": ["x", "y"], "best": 0}""");
        var replay = CannedGrmGenerator.Load(TinyRandom);
        replay.AddScored("a", null, 2, 2, (_, i) => i == 0 ? 9 : 3);
        var args = new EvalCommand.Arguments(data, ModelDirectory: TinyRandom, NoMetaRm: true, Ks: "1,2", ErrorBounds: "0.2");

        var (code, stdout, stderr) = await RunAsync(args, services => services.AddSingleton<IGrmGenerator>(replay));

        Assert.True(code == 0, stderr);
        Assert.Contains("tiny-random-v1", stdout);
        Assert.Contains("meta-RM none", stdout);
        foreach (var strategy in new[] { "greedy", "voting", "adaptive δ=0.02 (setting)", "adaptive δ=0.2 ", "parse-valid: samples 100.0%" })
            Assert.Contains(strategy, stdout);
        Assert.Single(stdout.Split("meta-RM")[1..]); // only the header names it: no meta-RM rows
        Assert.Contains("1/1 items", stderr); // progress
    }

    [Fact]
    public async Task A_bad_line_stops_the_run_before_the_model_loads_and_names_the_line_and_field()
    {
        var data = Write("bad.jsonl",
            """{"query": "q", "responses": ["a", "b"], "best": 0}""",
            """{"query": "q", "responses": ["a", "b"], "best": 2}""");
        // A model directory that does not exist: loading it would fail with exit code 1.
        var args = new EvalCommand.Arguments(data, ModelDirectory: Path.Combine(_dir, "no-model"), Json: true);

        var (code, stdout, stderr) = await RunAsync(args);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal("", stdout);
        Assert.Contains("bad.jsonl:2: best: is 2, outside 0..1", stderr);
    }

    [Fact]
    public async Task An_item_the_worker_would_reject_is_named_by_its_line_before_anything_is_generated()
    {
        var data = Write("long.jsonl",
            """{"query": "q", "responses": ["a", "b"], "best": 0}""",
            $$"""{"query": "{{string.Concat(Enumerable.Repeat("many words here ", 400))}}", "responses": ["a", "b"], "best": 0}""");
        var replay = CannedGrmGenerator.Load(TinyRandom);
        var args = new EvalCommand.Arguments(data, ModelDirectory: TinyRandom, NoMetaRm: true, MaxNewTokens: 1024, Json: true);

        var (code, _, stderr) = await RunAsync(args, services => services.AddSingleton<IGrmGenerator>(replay));

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("long.jsonl:2: the worker would reject this item (too_large)", stderr);
    }

    [Theory]
    [InlineData("1,x", "--k")]
    [InlineData("0,2", "--k")]
    [InlineData("1,128", "Validation:MaxKMax")]
    public async Task Bad_k_lists_are_refused_with_exit_code_2(string ks, string named) =>
        await AssertRefusedAsync(new EvalCommand.Arguments("", ModelDirectory: TinyRandom, Ks: ks), named);

    [Theory]
    [InlineData("0.1,x")]
    [InlineData("1")]
    [InlineData("-0.1")]
    [InlineData(",")]
    public async Task Bad_error_bound_lists_are_refused_with_exit_code_2(string bounds) =>
        await AssertRefusedAsync(new EvalCommand.Arguments("", ModelDirectory: TinyRandom, ErrorBounds: bounds), "--error-bounds");

    private async Task AssertRefusedAsync(EvalCommand.Arguments args, string named)
    {
        var data = Write("one.jsonl", """{"query": "q", "responses": ["a", "b"], "best": 0}""");
        var replay = CannedGrmGenerator.Load(TinyRandom);

        var (code, _, stderr) = await RunAsync(args with { DataFile = data }, services => services.AddSingleton<IGrmGenerator>(replay));

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains(named, stderr);
    }

    private string Write(string name, params string[] lines)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(EvalCommand.Arguments args, Action<IServiceCollection>? services = null)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var environment = new RunEnvironment(stdout, stderr) { ConfigureServices = services };
        var code = await EvalCommand.RunAsync(args, environment, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A stand-in meta-RM: the earlier a text comes in a call, the higher its score.</summary>
    private sealed class DescendingMetaScorer : IMetaScorer
    {
        public string ModelId => "test-meta-rm";

        public Task<float[]> ScoreAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken) =>
            Task.FromResult(texts.Select((_, i) => -(float)i).ToArray());
    }
}
