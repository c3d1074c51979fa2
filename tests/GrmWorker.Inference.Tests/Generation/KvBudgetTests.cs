using GrmWorker.Inference.Generation;
using GrmWorker.Inference.Sampling;

namespace GrmWorker.Inference.Tests.Generation;

/// <summary>The KV memory budget: rows run in waves that fit it, with the tokens they would give in one wave.</summary>
[Collection(TinyModelCollection.Name)]
public sealed class KvBudgetTests(TinyModel tiny)
{
    private static readonly SamplingOptions Warm = new() { Temperature = 0.9f, TopP = 0.95f, TopK = 50 };

    private GenerationJob[] Jobs =>
    [
        GenerationJob.Create(tiny.Cases[0].PromptIds, 5, seed: 11, Warm, 20),
        GenerationJob.Create(tiny.Cases[1].PromptIds, 3, seed: 22, Warm, 14),
        GenerationJob.Create(tiny.Cases[2].PromptIds, 4, seed: 33, SamplingOptions.GreedyDecoding, 18),
    ];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_batch_larger_than_the_budget_runs_in_waves_with_the_same_tokens_as_one_wave(bool sharedBufferLayout)
    {
        var config = sharedBufferLayout ? tiny.GqaConfig : tiny.Config;
        var unbounded = sharedBufferLayout ? tiny.GqaModel : tiny.Model;
        var cost = new WaveCost(unbounded.KvBytesPerToken, unbounded.LogitsBytesPerPosition, config.ContextLength, SharePrefix: true, unbounded.LogitsEveryPosition);
        var budget = KvWavePlanner.ChargeAll(Jobs, cost) / 3; // twelve rows, in two waves or more
        using var bounded = CausalLm.Load(config, new InferenceOptions { KvCacheBudget = budget });

        var one = new BatchedGenerator(unbounded, tiny.NoEos).Generate(Jobs, CancellationToken.None);
        var waves = new BatchedGenerator(bounded, tiny.NoEos).Generate(Jobs, CancellationToken.None);

        Assert.Equal(1, one.Stats.Waves);
        Assert.InRange(waves.Stats.Waves, 2, 12);
        Assert.True(one.Stats.PeakKvBytes > budget, $"one wave held {one.Stats.PeakKvBytes} KV bytes, not more than the budget {budget}: the test proves nothing");
        Assert.InRange(waves.Stats.PeakKvBytes + waves.Stats.PeakLogitsBytes, 1, budget);
        Assert.Equal(one.Jobs.Select(j => j.Select(s => (s.JobIndex, s.SampleIndex, string.Join(",", s.Tokens)))),
                     waves.Jobs.Select(j => j.Select(s => (s.JobIndex, s.SampleIndex, string.Join(",", s.Tokens)))));
        Assert.Equal(one.Stats.GeneratedTokens, waves.Stats.GeneratedTokens);
    }

    [Fact]
    public void A_row_that_alone_exceeds_the_budget_is_refused_with_the_figures()
    {
        using var bounded = CausalLm.Load(tiny.Config, new InferenceOptions { KvCacheBudget = 1000 });
        var ex = Assert.Throws<KvBudgetExceededException>(() => new BatchedGenerator(bounded, tiny.NoEos).Generate(Jobs, CancellationToken.None));
        Assert.Contains("Inference:KvCacheBudget = 1,000 bytes", ex.Message);
        Assert.Contains("Job 0 sample 0", ex.Message);
    }

    [Fact]
    public void The_budget_is_derived_on_cpu_and_must_be_given_for_cuda_without_a_memory_limit()
    {
        Assert.InRange(new InferenceOptions().ResolveKvCacheBudget(), 1, 256L << 20);
        Assert.Equal(123, new InferenceOptions { KvCacheBudget = 123 }.ResolveKvCacheBudget());
        var cuda = new InferenceOptions { ExecutionProvider = ExecutionProviderKind.Cuda };
        Assert.Contains("Inference:KvCacheBudget", Assert.Throws<ArgumentException>(() => cuda.ResolveKvCacheBudget()).Message);
        cuda.CudaProviderOptions["gpu_mem_limit"] = "8000000000";
        Assert.Equal(4_000_000_000, cuda.ResolveKvCacheBudget());
        Assert.Throws<ArgumentOutOfRangeException>(() => new InferenceOptions { KvCacheBudget = 0 }.Validate());
    }

    [Fact]
    public void Whether_prefill_logits_cover_every_position_is_read_from_the_export()
    {
        Assert.True(tiny.Model.LogitsEveryPosition);     // optimum export: logits [B, S, V]
        Assert.False(tiny.GqaModel.LogitsEveryPosition); // the GQA export returns each row's last position, [B, 1, V]
        Assert.Equal(3072 * 4, tiny.Model.LogitsBytesPerPosition);
    }
}
