using System.Text.Json;
using GrmWorker.Inference.Generation;
using GrmWorker.Inference.Sampling;
using GrmWorker.Inference.Tokenization;

namespace GrmWorker.Inference.Tests.Generation;

/// <summary>
/// models/grm-tiny on Microsoft's managed API gives the greedy ids our own binding gave before the move
/// (Fixtures/grm-tiny-greedy.json, recorded with it on the same libonnxruntime): the bundled GRM's golden test.
/// </summary>
public sealed class BundledGrmGoldenTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Greedy_ids_equal_those_of_the_binding_before_the_move(bool ioBinding)
    {
        TestAssets.EnsureRuntime();
        var config = ModelConfig.Load(Path.Combine(TestAssets.RepoRoot, "models", "grm-tiny"));
        var tokenizer = Tokenizer.Load(config.TokenizerPath);
        using var model = CausalLm.Load(config, new InferenceOptions { IntraOpThreads = 1, UseIoBinding = ioBinding });
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestAssets.RepoRoot, "tests", "GrmWorker.Inference.Tests", "Fixtures", "grm-tiny-greedy.json")));
        Assert.Equal(config.ModelId, doc.RootElement.GetProperty("modelId").GetString());
        var maxNew = doc.RootElement.GetProperty("maxNewTokens").GetInt32();
        var cases = doc.RootElement.GetProperty("cases").EnumerateArray().ToArray();
        var jobs = cases.Select(c => GenerationJob.Create(tokenizer.Encode(c.GetProperty("prompt").GetString()!), 1, 0, SamplingOptions.GreedyDecoding, maxNew)).ToArray();

        var result = new BatchedGenerator(model, GeneratorSettings.From(config)).Generate(jobs, CancellationToken.None);

        for (var i = 0; i < cases.Length; i++)
        {
            Assert.Equal(cases[i].GetProperty("generatedIds").EnumerateArray().Select(e => e.GetInt32()), result.Jobs[i][0].Tokens);
        }
    }
}
