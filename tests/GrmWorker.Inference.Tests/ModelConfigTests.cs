namespace GrmWorker.Inference.Tests;

public sealed class ModelConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("grm-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_bundled_config_loads()
    {
        var config = ModelConfig.Load(TestAssets.TinyModelDir);
        Assert.False(string.IsNullOrEmpty(config.ModelId));
        Assert.True(File.Exists(config.ModelPath));
        Assert.True(File.Exists(config.TokenizerPath));
        Assert.NotEmpty(config.EosTokenIds);
        Assert.True(config.ContextLength > 0);
    }

    [Fact]
    public void The_bundled_grm_carries_its_fitted_stopping_prior()
    {
        var stopping = ModelConfig.Load(Path.Combine(TestAssets.RepoRoot, "models", "grm-tiny")).Stopping;

        Assert.NotNull(stopping);
        Assert.True(stopping.DifferenceVariance > 0 && stopping.MeanWeight > 0 && stopping.VarianceWeight > 0);
        Assert.Equal(0.13, stopping.ErrorBound);
        Assert.Null(ModelConfig.Load(TestAssets.TinyModelDir).Stopping);
    }

    [Fact]
    public void A_missing_config_names_the_file()
    {
        var ex = Assert.Throws<ModelConfigException>(() => ModelConfig.Load(_dir));
        Assert.Contains(Path.Combine(_dir, ModelConfig.FileName), ex.Message);
    }

    [Fact]
    public void The_kv_cache_layout_defaults_to_concat_and_reads_shared_buffer()
    {
        Assert.Equal(KvCacheLayout.Concat, ModelConfig.Load(TestAssets.TinyModelDir).KvCache.Layout);
        var gqa = ModelConfig.Load(TestAssets.TinyGqaModelDir);
        Assert.Equal(KvCacheLayout.SharedBuffer, gqa.KvCache.Layout);
        Assert.Equal(2048, gqa.KvCache.MaxLength);
    }

    [Theory]
    [InlineData("""{"modelFile":"m.onnx","tokenizerFile":"t.json","contextLength":8,"eosTokenIds":[1]}""", "modelId")]
    [InlineData("""{"modelId":"x","modelFile":"m.onnx","tokenizerFile":"t.json","contextLength":0,"eosTokenIds":[1]}""", "contextLength")]
    [InlineData("""{"modelId":"x","modelFile":"m.onnx","tokenizerFile":"t.json","contextLength":8,"eosTokenIds":[]}""", "eosTokenIds")]
    [InlineData("""{"modelId":"x","modelFile":"other.onnx","tokenizerFile":"t.json","contextLength":8,"eosTokenIds":[1]}""", "modelFile")]
    [InlineData("""{"modelId":"x","modelFile":"m.onnx","tokenizerFile":"t.json","contextLength":"long","eosTokenIds":[1]}""", "contextLength")]
    [InlineData("""{"modelId":"x","modelFile":"m.onnx","tokenizerFile":"t.json","contextLength":8,"eosTokenIds":[1],"kvCache":{"layout":"paged"}}""", "kvCache.layout")]
    [InlineData("""{"modelId":"x","modelFile":"m.onnx","tokenizerFile":"t.json","contextLength":8,"eosTokenIds":[1],"kvCache":{"layout":"shared-buffer","maxLength":0}}""", "kvCache.maxLength")]
    [InlineData("""{"modelId":"x","modelFile":"m.onnx","tokenizerFile":"t.json","contextLength":8,"eosTokenIds":[1],"stopping":{"differenceVariance":2,"meanWeight":0.5,"varianceWeight":8,"errorBound":1.5}}""", "stopping.errorBound")]
    [InlineData("""{"modelId":"x","modelFile":"m.onnx","tokenizerFile":"t.json","contextLength":8,"eosTokenIds":[1],"stopping":{"meanWeight":0.5,"varianceWeight":8}}""", "stopping.differenceVariance")]
    public void A_bad_field_is_named_with_the_file(string json, string field)
    {
        File.WriteAllText(Path.Combine(_dir, "m.onnx"), "");
        File.WriteAllText(Path.Combine(_dir, "t.json"), "{}");
        File.WriteAllText(Path.Combine(_dir, ModelConfig.FileName), json);
        var ex = Assert.Throws<ModelConfigException>(() => ModelConfig.Load(_dir));
        Assert.Contains(ModelConfig.FileName, ex.Message);
        Assert.Contains(field, ex.Message);
    }
}
