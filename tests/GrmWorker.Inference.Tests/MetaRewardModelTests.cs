using System.Text.Json;
using GrmWorker.Inference.Tokenization;

namespace GrmWorker.Inference.Tests;

/// <summary>
/// The bundled random-weight meta-RM (models/tiny-random/meta-rm, built by models/meta_rm.py --random) against its
/// torch reference: same ids from our tokenizer, same truncation, same scores through our ONNX Runtime binding.
/// </summary>
public sealed class MetaRewardModelTests : IDisposable
{
    private static readonly InferenceOptions Options = new() { IntraOpThreads = 1 };
    private readonly string _dir = Directory.CreateTempSubdirectory("grm-meta-rm-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string MetaRmDir
    {
        get
        {
            var dir = Path.Combine(TestAssets.TinyModelDir, "meta-rm");
            return File.Exists(Path.Combine(dir, "reference-scores.json"))
                ? dir
                : throw new InvalidOperationException($"{dir} is incomplete; build it with /usr/bin/python3 models/meta_rm.py --random");
        }
    }

    private static ReferenceCase[] Cases()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(MetaRmDir, "reference-scores.json")));
        return [.. json.RootElement.GetProperty("cases").EnumerateArray().Select(c => new ReferenceCase(
            c.GetProperty("text").GetString()!,
            [.. c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())],
            [.. c.GetProperty("truncatedIds").EnumerateArray().Select(e => e.GetInt32())],
            c.GetProperty("score").GetSingle()))];
    }

    [Fact]
    public void Scores_match_the_torch_reference_in_one_batch()
    {
        using var model = MetaRewardModel.Load(MetaRmDir, Options);
        var cases = Cases();

        var scores = model.Score([.. cases.Select(c => c.Text)], CancellationToken.None);

        Assert.Equal(cases.Length, scores.Length);
        for (var i = 0; i < cases.Length; i++)
            Assert.True(Math.Abs(cases[i].Score - scores[i]) <= 1e-4, $"case {i}: torch {cases[i].Score}, ours {scores[i]}");
        Assert.True(scores.Distinct().Count() == scores.Length, "a random meta-RM still tells different texts apart");
    }

    [Fact]
    public void Our_tokenizer_gives_the_fixture_ids_and_the_model_reads_the_last_max_tokens()
    {
        using var model = MetaRewardModel.Load(MetaRmDir, Options);
        var tokenizer = Tokenizer.Load(model.Config.TokenizerPath);

        foreach (var c in Cases())
        {
            Assert.Equal(c.Ids, tokenizer.Encode(c.Text));
            Assert.Equal(c.TruncatedIds, model.Encode(c.Text));
        }
        Assert.Contains(Cases(), c => c.Ids.Length > model.MaxTokens);
    }

    [Fact]
    public void Truncation_keeps_the_end()
    {
        int[] ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

        Assert.Equal([7, 8, 9, 10], MetaRewardModel.Truncate(ids, 4));
        Assert.Same(ids, MetaRewardModel.Truncate(ids, 10));
        Assert.Equal(ids, MetaRewardModel.Truncate(ids, 512));
    }

    [Fact]
    public void A_long_text_scores_as_its_last_max_tokens()
    {
        using var model = MetaRewardModel.Load(MetaRmDir, Options);
        var longCase = Cases().First(c => c.Ids.Length > model.MaxTokens);

        var whole = model.Score([longCase.Text], CancellationToken.None)[0];
        var tail = model.ScoreIds([longCase.Ids[^model.MaxTokens..]], CancellationToken.None)[0];

        Assert.Equal(tail, whole);
    }

    [Fact]
    public void Scores_do_not_depend_on_batching_or_padding()
    {
        using var model = MetaRewardModel.Load(MetaRmDir, Options);
        var texts = Cases().Select(c => c.Text).ToArray();
        // More than one batch of MaxBatchRows, the same texts in different company.
        var many = Enumerable.Range(0, (2 * MetaRewardModel.MaxBatchRows) + 3).Select(i => texts[(i * 5) % texts.Length]).ToArray();

        var alone = texts.Select(t => model.Score([t], CancellationToken.None)[0]).ToArray();
        var batched = model.Score(many, CancellationToken.None);

        for (var i = 0; i < many.Length; i++)
            Assert.True(Math.Abs(alone[(i * 5) % texts.Length] - batched[i]) <= 1e-5, $"row {i}");
        Assert.Empty(model.Score([], CancellationToken.None));
    }

    [Fact]
    public void Scoring_stops_when_cancelled()
    {
        using var model = MetaRewardModel.Load(MetaRmDir, Options);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => model.Score(["Query:\nq"], cancelled.Token));
    }

    [Fact]
    public void A_missing_directory_or_config_is_named()
    {
        var missing = Path.Combine(_dir, "nothing-here");
        var ex = Assert.Throws<ModelConfigException>(() => MetaRewardModel.Load(missing, Options));
        Assert.Contains(missing, ex.Message);

        ex = Assert.Throws<ModelConfigException>(() => MetaRewardModel.Load(_dir, Options));
        Assert.Contains(Path.Combine(_dir, MetaRmConfig.FileName), ex.Message);
    }

    [Theory]
    [InlineData("""{"modelFile":"m.onnx","tokenizerFile":"t.json","maxTokens":8,"padTokenId":0,"inputFormat":"meta-rm-input-v1"}""", "modelId")]
    [InlineData("""{"modelId":"x","modelFile":"other.onnx","tokenizerFile":"t.json","maxTokens":8,"padTokenId":0,"inputFormat":"meta-rm-input-v1"}""", "modelFile")]
    [InlineData("""{"modelId":"x","modelFile":"m.onnx","tokenizerFile":"../none.json","maxTokens":8,"padTokenId":0,"inputFormat":"meta-rm-input-v1"}""", "tokenizerFile")]
    [InlineData("""{"modelId":"x","modelFile":"m.onnx","tokenizerFile":"t.json","maxTokens":0,"padTokenId":0,"inputFormat":"meta-rm-input-v1"}""", "maxTokens")]
    [InlineData("""{"modelId":"x","modelFile":"m.onnx","tokenizerFile":"t.json","maxTokens":8,"inputFormat":"meta-rm-input-v1"}""", "padTokenId")]
    [InlineData("""{"modelId":"x","modelFile":"m.onnx","tokenizerFile":"t.json","maxTokens":8,"padTokenId":0,"inputFormat":"meta-rm-input-v2"}""", "inputFormat")]
    public void A_bad_config_field_is_named_with_the_file(string json, string field)
    {
        File.WriteAllText(Path.Combine(_dir, "m.onnx"), "");
        File.WriteAllText(Path.Combine(_dir, "t.json"), "{}");
        File.WriteAllText(Path.Combine(_dir, MetaRmConfig.FileName), json);

        var ex = Assert.Throws<ModelConfigException>(() => MetaRmConfig.Load(_dir));

        Assert.Contains(MetaRmConfig.FileName, ex.Message);
        Assert.Equal(field, ex.Field);
    }

    [Fact]
    public void An_onnx_file_without_the_meta_rm_interface_is_refused_naming_the_file()
    {
        File.Copy(TestAssets.AddModel, Path.Combine(_dir, "add.onnx"));
        File.WriteAllText(Path.Combine(_dir, MetaRmConfig.FileName), JsonSerializer.Serialize(new
        {
            modelId = "not-a-meta-rm", modelFile = "add.onnx", tokenizerFile = Path.Combine(TestAssets.TinyModelDir, "tokenizer.json"),
            maxTokens = 8, padTokenId = 0, inputFormat = MetaRmConfig.SupportedInputFormat,
        }));

        var ex = Assert.Throws<NotSupportedException>(() => MetaRewardModel.Load(_dir, Options));

        Assert.Contains(Path.Combine(_dir, "add.onnx"), ex.Message);
        Assert.Contains("input_ids", ex.Message);
    }

    [Fact]
    public void A_grm_config_can_name_its_meta_rm_directory()
    {
        var grm = File.ReadAllText(Path.Combine(TestAssets.TinyModelDir, ModelConfig.FileName));
        var config = Path.Combine(_dir, ModelConfig.FileName);
        File.Copy(Path.Combine(TestAssets.TinyModelDir, "model.onnx"), Path.Combine(_dir, "model.onnx"));
        File.Copy(Path.Combine(TestAssets.TinyModelDir, "tokenizer.json"), Path.Combine(_dir, "tokenizer.json"));

        File.WriteAllText(config, grm.TrimEnd().TrimEnd('}') + ", \"metaRm\": \"meta-rm\" }");
        Assert.Equal(Path.Combine(_dir, "meta-rm"), ModelConfig.Load(_dir).MetaRmPath);

        File.WriteAllText(config, grm);
        Assert.Null(ModelConfig.Load(_dir).MetaRmPath);

        File.WriteAllText(config, grm.TrimEnd().TrimEnd('}') + ", \"metaRm\": \"\" }");
        Assert.Equal("metaRm", Assert.Throws<ModelConfigException>(() => ModelConfig.Load(_dir)).Field);
    }

    private sealed record ReferenceCase(string Text, int[] Ids, int[] TruncatedIds, float Score);
}
