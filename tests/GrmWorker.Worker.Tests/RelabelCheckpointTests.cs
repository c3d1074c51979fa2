using System.Text.Json.Nodes;
using GrmWorker.Contracts;
using GrmWorker.Worker.Relabel;

namespace GrmWorker.Worker.Tests;

/// <summary>The resume files: OUT.partial survives a kill (a torn last line is dropped), OUT is rewritten in input order.</summary>
public sealed class RelabelCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("grm-relabel-").FullName;

    private string Out => Path.Combine(_dir, "out.jsonl");

    private string Partial => RelabelCheckpoint.PartialPathOf(Out);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Lines_in_OUT_and_in_the_sidecar_are_done_and_a_torn_last_line_is_not()
    {
        await File.WriteAllTextAsync(Out, Line("a") + "\n" + Line("b") + "\n");
        await File.WriteAllTextAsync(Partial, Line("d") + "\n" + Line("c")[..10]);

        await using (var checkpoint = await RelabelCheckpoint.OpenAsync(Out, CancellationToken.None))
        {
            Assert.True(checkpoint.IsDone("a"));
            Assert.True(checkpoint.IsDone("b"));
            Assert.True(checkpoint.IsDone("d"));
            Assert.False(checkpoint.IsDone("c"));
            await checkpoint.AppendAsync("c", Line("c"), CancellationToken.None);

            var written = await checkpoint.WriteOutputAsync(["a", "x", "c", "b", "d"], CancellationToken.None);

            Assert.Equal(4, written);
        }
        Assert.Equal([Line("a"), Line("c"), Line("b"), Line("d")], await File.ReadAllLinesAsync(Out));
        Assert.False(File.Exists(Partial));
    }

    [Fact]
    public async Task Lines_of_ids_no_longer_in_the_input_are_dropped_from_OUT()
    {
        await File.WriteAllTextAsync(Out, Line("old") + "\n" + Line("kept") + "\n");

        await using (var checkpoint = await RelabelCheckpoint.OpenAsync(Out, CancellationToken.None))
            await checkpoint.WriteOutputAsync(["kept"], CancellationToken.None);

        Assert.Equal([Line("kept")], await File.ReadAllLinesAsync(Out));
    }

    [Fact]
    public void An_output_line_is_the_input_object_with_the_result_fields_added()
    {
        var source = (JsonObject)JsonNode.Parse("""{"query":"q","responses":["a","b"],"label":"x","status":"old"}""")!;
        var result = new ScoreResult
        {
            RequestId = "r1", Status = ScoreStatus.Scored, Rewards = [7.5, 3], Best = 0, SamplesUsed = 4, SamplesValid = 4, StoppedEarly = true,
        };

        var line = RelabelOutputLine.Build(source, "r1", result);

        Assert.Equal("""{"query":"q","responses":["a","b"],"label":"x","status":"scored","requestId":"r1","rewards":[7.5,3],"best":0,"samplesUsed":4,"samplesValid":4,"stoppedEarly":true}""", line);
    }

    private static string Line(string id) => $$"""{"requestId":"{{id}}","status":"scored","rewards":[1.5]}""";
}
