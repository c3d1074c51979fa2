using System.Text.Json;
using GrmWorker.Cli.Commands;
using GrmWorker.Worker.Runs;

namespace GrmWorker.Worker.Tests;

/// <summary>`grm stopping`: the prior fitted to a sample dump and the rule replayed on it, no model run.</summary>
public sealed class StoppingCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("grm-stopping-cmd-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_dump_where_the_best_always_leads_is_settled_early_fitted_and_fully_agreed()
    {
        var dump = WriteDump(items: 30, samples: 8);

        var (code, stdout, stderr) = await RunAsync(new StoppingCommand.Arguments(dump, Fit: true, ErrorBounds: "0.02,0.2", Json: true));

        Assert.True(code == 0, stderr);
        var json = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(30, json.GetProperty("items").GetInt32());
        Assert.Equal(8, json.GetProperty("stopping").GetProperty("kMax").GetInt32());
        var fitted = json.GetProperty("fittedPrior");
        Assert.Equal(30, fitted.GetProperty("pairs").GetInt32());
        Assert.Equal(fitted.GetProperty("differenceVariance").GetDouble(), json.GetProperty("stopping").GetProperty("priorDifferenceVariance").GetDouble());
        var replays = json.GetProperty("replays").EnumerateArray().ToArray();
        Assert.Equal([0.02, 0.2], replays.Select(r => r.GetProperty("errorBound").GetDouble()));
        foreach (var r in replays)
        {
            Assert.Equal(30, r.GetProperty("agreement").GetProperty("correct").GetInt32());
            Assert.Equal(30, r.GetProperty("accuracy").GetProperty("correct").GetInt32());
            Assert.Equal(0, r.GetProperty("accuracyDifference").GetDouble());
            Assert.Equal(0, r.GetProperty("accuracyDifferenceError").GetDouble());
            Assert.True(r.GetProperty("samplesFraction").GetDouble() < 1, "a three-point lead every sample should settle before k_max");
        }
    }

    [Fact]
    public async Task A_line_off_the_score_scale_is_named_with_its_line()
    {
        var dump = WriteDump(items: 2, samples: 4);
        File.AppendAllText(dump, """{"item":2,"sample":0,"seed":1,"permutation":[0,1],"parseStatus":"ok","scores":[70,4],"best":0}""" + "\n");

        var (code, _, stderr) = await RunAsync(new StoppingCommand.Arguments(dump));

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains($"{dump}:9:", stderr);
        Assert.Contains("off the 1..10 scale", stderr);
    }

    [Fact]
    public async Task A_missing_file_and_a_k_max_above_the_dump_are_refused_by_name()
    {
        var dump = WriteDump(items: 2, samples: 4);

        var (missing, _, missingErr) = await RunAsync(new StoppingCommand.Arguments(Path.Combine(_dir, "nope.jsonl")));
        var (tooMany, _, tooManyErr) = await RunAsync(new StoppingCommand.Arguments(dump, KMax: 8));

        Assert.Equal(ExitCodes.BadInput, missing);
        Assert.Contains("nope.jsonl", missingErr);
        Assert.Equal(ExitCodes.BadInput, tooMany);
        Assert.Contains("--kmax 8", tooManyErr);
    }

    /// <summary>Items whose response 0 leads by about three points each sample; every fifth sample unparsed.</summary>
    private string WriteDump(int items, int samples)
    {
        var path = Path.Combine(_dir, "samples.jsonl");
        using var writer = new StreamWriter(path);
        for (var i = 0; i < items; i++)
        {
            for (var j = 0; j < samples; j++)
            {
                var ok = (i + j) % 5 != 4;
                var scores = ok ? $"[{7 + (i + j) % 2},{4 + (i * j) % 3}]" : "null";
                writer.WriteLine($$"""{"item":{{i}},"id":"it-{{i}}","sample":{{j}},"seed":{{i * 100 + j}},"permutation":[0,1],"text":"","parseStatus":"{{(ok ? "ok" : "missing_scores")}}","scores":{{scores}},"metaScore":null,"best":0,"ranksBestFirst":{{(ok ? "true" : "false")}},"generatedTokens":10}""");
            }
        }
        return path;
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(StoppingCommand.Arguments args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await StoppingCommand.RunAsync(args, new RunEnvironment(stdout, stderr), CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
