using System.Text.Json;
using GrmWorker.Inference.Generation;

namespace GrmWorker.Inference.Tests.Generation;

/// <summary>The bundled tiny model, loaded once for the generation tests, and its PyTorch greedy reference.</summary>
public sealed class TinyModel : IDisposable
{
    public TinyModel()
    {
        TestAssets.EnsureRuntime();
        Config = ModelConfig.Load(TestAssets.TinyModelDir);
        Model = CausalLm.Load(Config, new InferenceOptions());
        BoundModel = CausalLm.Load(Config, new InferenceOptions { UseIoBinding = true, CompactFinishedRows = false });
        GqaConfig = ModelConfig.Load(TestAssets.TinyGqaModelDir);
        GqaModel = CausalLm.Load(GqaConfig, new InferenceOptions());
        GqaPaddedModel = CausalLm.Load(GqaConfig, new InferenceOptions { CompactFinishedRows = false });
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestAssets.TinyModelDir, "reference-greedy.json")));
        var root = doc.RootElement;
        NewTokens = root.GetProperty("newTokens").GetInt32();
        Cases = [.. root.GetProperty("cases").EnumerateArray().Select(c => new ReferenceCase(
            c.GetProperty("name").GetString()!,
            [.. c.GetProperty("promptIds").EnumerateArray().Select(e => e.GetInt32())],
            [.. c.GetProperty("generatedIds").EnumerateArray().Select(e => e.GetInt32())]))];
        var padded = root.GetProperty("paddedBatch");
        PaddedOrder = [.. padded.GetProperty("caseOrder").EnumerateArray().Select(e => e.GetInt32())];
        PaddedGenerated = [.. padded.GetProperty("generatedIds").EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetInt32()).ToArray())];
    }

    public ModelConfig Config { get; }

    public CausalLm Model { get; }

    /// <summary>Same model through IoBinding, finished rows padded instead of dropped.</summary>
    public CausalLm BoundModel { get; }

    /// <summary>models/tiny-random-gqa: the same weights, shared-buffer KV layout.</summary>
    public ModelConfig GqaConfig { get; }

    public CausalLm GqaModel { get; }

    /// <summary>Shared-buffer model with finished rows kept in the batch (fed pads) instead of compacted away.</summary>
    public CausalLm GqaPaddedModel { get; }

    public int NewTokens { get; }

    public IReadOnlyList<ReferenceCase> Cases { get; }

    public IReadOnlyList<int> PaddedOrder { get; }

    public IReadOnlyList<int[]> PaddedGenerated { get; }

    /// <summary>EOS ignored, as in the reference (it always generates newTokens).</summary>
    public GeneratorSettings NoEos => GeneratorSettings.From(Config) with { EosTokenIds = [] };

    public void Dispose()
    {
        Model.Dispose();
        BoundModel.Dispose();
        GqaModel.Dispose();
        GqaPaddedModel.Dispose();
    }
}

public sealed record ReferenceCase(string Name, int[] PromptIds, int[] GeneratedIds);

[CollectionDefinition(Name)]
public sealed class TinyModelCollection : ICollectionFixture<TinyModel>
{
    public const string Name = "tiny model";
}
