using GrmWorker.Inference.Generation;
using GrmWorker.Inference.Sampling;

namespace GrmWorker.Inference.Tests.Generation;

/// <summary>
/// models/tiny-random-gqa: tiny-random's weights exported with the shared-buffer KV layout
/// (GroupQueryAttention, one in-place buffer per layer, rows left-aligned and right-padded).
/// </summary>
[Collection(TinyModelCollection.Name)]
public sealed class SharedBufferGenerationTests(TinyModel tiny)
{
    private static readonly SamplingOptions Warm = new() { Temperature = 0.9f, TopP = 0.95f, TopK = 50 };

    public static TheoryData<bool> CompactOrPad => new() { true, false };

    private CausalLm Model(bool compact) => compact ? tiny.GqaModel : tiny.GqaPaddedModel;

    [Fact]
    public void The_layout_comes_from_the_config_and_the_shape_from_the_session()
    {
        Assert.Equal(KvCacheLayout.SharedBuffer, tiny.GqaModel.KvLayout);
        Assert.Equal(KvCacheLayout.Concat, tiny.Model.KvLayout);
        Assert.Equal(tiny.Model.NumLayers, tiny.GqaModel.NumLayers);
        Assert.Equal(tiny.Model.NumKvHeads, tiny.GqaModel.NumKvHeads);
        Assert.Equal(tiny.Model.HeadDim, tiny.GqaModel.HeadDim);
        Assert.Equal(tiny.Model.VocabSize, tiny.GqaModel.VocabSize);
    }

    [Fact]
    public void Greedy_ids_equal_the_pytorch_reference_for_every_prompt()
    {
        var generator = new BatchedGenerator(tiny.GqaModel, tiny.NoEos);
        foreach (var c in tiny.Cases)
        {
            var sample = generator.Generate(c.PromptIds, SamplingOptions.GreedyDecoding, tiny.NewTokens, seed: 0, CancellationToken.None);
            Assert.True(c.GeneratedIds.SequenceEqual(sample.Tokens), $"case '{c.Name}': expected [{string.Join(",", c.GeneratedIds)}], got [{string.Join(",", sample.Tokens)}]");
            Assert.Equal(FinishReason.MaxNewTokens, sample.FinishReason);
        }
    }

    [Fact]
    public void The_right_padded_reference_batch_equals_the_reference()
    {
        var generator = new BatchedGenerator(tiny.GqaModel, tiny.NoEos);
        var jobs = tiny.PaddedOrder.Select(i => GenerationJob.Create(tiny.Cases[i].PromptIds, 1, 0, SamplingOptions.GreedyDecoding, tiny.NewTokens)).ToList();
        var result = generator.Generate(jobs, CancellationToken.None);
        for (var i = 0; i < jobs.Count; i++)
        {
            Assert.Equal(tiny.PaddedGenerated[i], result.Jobs[i][0].Tokens);
        }
    }

    [Theory]
    [MemberData(nameof(CompactOrPad))]
    public void A_batch_of_eight_rows_of_different_lengths_equals_eight_single_runs(bool compact)
    {
        var generator = new BatchedGenerator(Model(compact), GeneratorSettings.From(tiny.GqaConfig));
        BatchParity.AssertBatchOfEightEqualsSingleRuns(generator, tiny.Cases);
    }

    [Theory]
    [MemberData(nameof(CompactOrPad))]
    public void Sampled_rows_equal_the_concat_layout_row_for_row(bool compact)
    {
        var jobs = new[]
        {
            GenerationJob.Create(tiny.Cases[2].PromptIds, 3, seed: 5, Warm, 16),
            GenerationJob.Create(tiny.Cases[0].PromptIds, 4, seed: 50, Warm with { TopK = 0 }, 12),
        };
        var concat = new BatchedGenerator(tiny.Model, GeneratorSettings.From(tiny.Config)).Generate(jobs, CancellationToken.None);
        var shared = new BatchedGenerator(Model(compact), GeneratorSettings.From(tiny.GqaConfig)).Generate(jobs, CancellationToken.None);
        Assert.Equal(concat.Jobs.SelectMany(j => j).Select(s => s.Tokens), shared.Jobs.SelectMany(j => j).Select(s => s.Tokens));
        Assert.Equal(concat.Jobs.SelectMany(j => j).Select(s => s.FinishReason), shared.Jobs.SelectMany(j => j).Select(s => s.FinishReason));
    }

    [Fact]
    public void A_seeded_sampled_run_repeats_exactly_and_other_seeds_differ()
    {
        var generator = new BatchedGenerator(tiny.GqaModel, tiny.NoEos);
        var job = GenerationJob.Create(tiny.Cases[1].PromptIds, 4, seed: 1234, Warm, 24);

        var first = generator.Generate([job], CancellationToken.None).Jobs[0];
        var second = generator.Generate([job], CancellationToken.None).Jobs[0];

        Assert.Equal(first.Select(s => s.Tokens), second.Select(s => s.Tokens));
        Assert.Equal(4, first.Select(s => string.Join(",", s.Tokens)).Distinct().Count());
    }

    [Fact]
    public void Prefix_shared_rows_equal_independent_rows()
    {
        var job = GenerationJob.Create(tiny.Cases[1].PromptIds, 6, seed: 99, Warm, 20);
        var other = GenerationJob.Create(tiny.Cases[0].PromptIds, 3, seed: 7, Warm, 20);

        var shared = new BatchedGenerator(tiny.GqaModel, tiny.NoEos).Generate([job, other], CancellationToken.None);
        var unshared = new BatchedGenerator(tiny.GqaModel, tiny.NoEos with { SharePrefix = false }).Generate([job, other], CancellationToken.None);

        Assert.Equal(unshared.Jobs.SelectMany(j => j).Select(s => s.Tokens), shared.Jobs.SelectMany(j => j).Select(s => s.Tokens));
        var pMax = Math.Max(tiny.Cases[1].PromptIds.Length, tiny.Cases[0].PromptIds.Length);
        Assert.Equal(2 * pMax, shared.Stats.PrefillTokens);   // each prompt once
        Assert.Equal(9 * pMax, unshared.Stats.PrefillTokens); // every row
    }

    [Fact]
    public void Per_sample_suffixes_after_a_shared_prefix_equal_whole_prompts()
    {
        var prefix = tiny.Cases[4].PromptIds.Take(40).ToArray();
        var suffixes = new[] { tiny.Cases[0].PromptIds, tiny.Cases[1].PromptIds.Take(5).ToArray(), [], [tiny.Cases[2].PromptIds[0]] };
        var job = new GenerationJob(prefix, suffixes.Select((s, i) => new GenerationSample((ulong)i, s)).ToArray(), SamplingOptions.GreedyDecoding, 10);
        var generator = new BatchedGenerator(tiny.GqaModel, tiny.NoEos);

        var shared = generator.Generate([job], CancellationToken.None).Jobs[0];

        for (var i = 0; i < suffixes.Length; i++)
        {
            var whole = generator.Generate([.. prefix, .. suffixes[i]], SamplingOptions.GreedyDecoding, 10, 0, CancellationToken.None);
            Assert.Equal(whole.Tokens, shared[i].Tokens);
        }
    }

    [Fact]
    public void A_row_that_reaches_the_buffer_limit_stops_with_context_length()
    {
        using var model = CausalLm.Load(tiny.GqaConfig.ModelPath, new InferenceOptions(), tiny.GqaConfig.KvCache with { MaxLength = 20 });
        var prompt = tiny.Cases[1].PromptIds; // 13 tokens
        var sample = new BatchedGenerator(model, tiny.NoEos).Generate(prompt, SamplingOptions.GreedyDecoding, 50, 0, CancellationToken.None);
        Assert.Equal(FinishReason.ContextLength, sample.FinishReason);
        Assert.Equal(tiny.Cases[1].GeneratedIds.Take(sample.Tokens.Count), sample.Tokens);
    }
}
