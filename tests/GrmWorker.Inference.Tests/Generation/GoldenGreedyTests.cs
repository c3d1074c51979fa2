using GrmWorker.Inference.Generation;
using Microsoft.ML.OnnxRuntime.Tensors;
using GrmWorker.Inference.Sampling;

namespace GrmWorker.Inference.Tests.Generation;

[Collection(TinyModelCollection.Name)]
public sealed class GoldenGreedyTests(TinyModel tiny)
{
    [Fact]
    public void Model_shape_is_read_from_the_session_metadata()
    {
        // model-config.json is what the build script exported the model from.
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(TestAssets.TinyModelDir, "model-config.json")));
        var cfg = doc.RootElement;
        var model = tiny.Model;
        Assert.Equal(cfg.GetProperty("n_layers").GetInt32(), model.NumLayers);
        Assert.Equal(cfg.GetProperty("n_heads").GetInt32(), model.NumKvHeads);
        Assert.Equal(cfg.GetProperty("d_model").GetInt32() / cfg.GetProperty("n_heads").GetInt32(), model.HeadDim);
        Assert.Equal(cfg.GetProperty("vocab_size").GetInt32(), model.VocabSize);
        Assert.Equal(TensorElementType.Float, model.KvElementType);
        Assert.True(model.HasPositionIds);
    }

    [Fact]
    public void Greedy_ids_equal_the_pytorch_reference_for_every_prompt()
    {
        var generator = new BatchedGenerator(tiny.Model, tiny.NoEos);
        foreach (var c in tiny.Cases)
        {
            var sample = generator.Generate(c.PromptIds, SamplingOptions.GreedyDecoding, tiny.NewTokens, seed: 0, CancellationToken.None);
            Assert.True(c.GeneratedIds.SequenceEqual(sample.Tokens), $"case '{c.Name}': expected [{string.Join(",", c.GeneratedIds)}], got [{string.Join(",", sample.Tokens)}]");
            Assert.Equal(FinishReason.MaxNewTokens, sample.FinishReason);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Left_padded_reference_batch_equals_the_reference(bool ioBinding)
    {
        var generator = new BatchedGenerator(ioBinding ? tiny.BoundModel : tiny.Model, tiny.NoEos);
        var jobs = tiny.PaddedOrder.Select(i => GenerationJob.Create(tiny.Cases[i].PromptIds, 1, 0, SamplingOptions.GreedyDecoding, tiny.NewTokens)).ToList();
        var result = generator.Generate(jobs, CancellationToken.None);
        for (var i = 0; i < jobs.Count; i++)
        {
            Assert.Equal(tiny.PaddedGenerated[i], result.Jobs[i][0].Tokens);
        }
        Assert.Equal(jobs.Count * tiny.NewTokens, result.Stats.GeneratedTokens);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_batch_of_eight_greedy_rows_equals_eight_single_runs(bool ioBindingAndPadding)
    {
        var model = ioBindingAndPadding ? tiny.BoundModel : tiny.Model;
        var settings = GeneratorSettings.From(tiny.Config);
        var generator = new BatchedGenerator(model, settings);
        BatchParity.AssertBatchOfEightEqualsSingleRuns(generator, tiny.Cases);
    }
}
