using GrmWorker.Inference.Generation;
using GrmWorker.Inference.Sampling;

namespace GrmWorker.Inference.Tests.Generation;

/// <summary>The wave plan alone, without a model.</summary>
public sealed class KvWavePlannerTests
{
    private static WaveCost Cost(long bytesPerToken, long logits = 0) => new(bytesPerToken, logits, ContextLength: 1000, SharePrefix: true);

    private static GenerationJob Job(int prompt, int samples, int newTokens) =>
        GenerationJob.Create(Enumerable.Range(1, prompt).ToArray(), samples, 0, SamplingOptions.GreedyDecoding, newTokens);

    [Fact]
    public void Rows_that_fit_run_in_one_wave_in_job_and_sample_order()
    {
        var waves = KvWavePlanner.Plan([Job(10, 2, 5), Job(4, 1, 5)], Cost(100), budgetBytes: 1_000_000);
        Assert.Equal([[new WaveRow(0, 0), new WaveRow(0, 1), new WaveRow(1, 0)]], waves);
    }

    [Fact]
    public void A_job_is_split_across_waves_where_the_budget_ends()
    {
        // 15 positions x 100 bytes x 2 = 3,000 bytes a row; 7,000 holds two rows
        var waves = KvWavePlanner.Plan([Job(10, 3, 5), Job(10, 2, 5)], Cost(100), budgetBytes: 7_000);
        Assert.Equal([2, 2, 1], waves.Select(w => w.Count));
        Assert.Equal(new WaveRow(0, 2), waves[1][0]);
        Assert.Equal(new WaveRow(1, 1), waves[2][0]);
    }

    [Fact]
    public void A_wave_is_charged_for_its_longest_row_since_rows_are_padded_to_it()
    {
        // a short row (6 positions) then a long one (60): together 2 x 2 x 60 x 10 = 2,400 > 2,000
        var waves = KvWavePlanner.Plan([Job(1, 1, 5), Job(50, 1, 10)], Cost(10), budgetBytes: 2_000);
        Assert.Equal(2, waves.Count);
    }

    [Fact]
    public void Positions_are_capped_by_the_context_length()
    {
        Assert.Equal(64, KvWavePlanner.Positions(Job(60, 1, 100), 0, contextLength: 64));
        Assert.Equal(14, KvWavePlanner.Positions(Job(10, 1, 4), 0, contextLength: 64));
    }

    [Fact]
    public void Prefill_logits_are_charged_once_per_prompt_when_rows_share_it()
    {
        // 2 rows of one 10-token prompt, 5 new tokens: KV 2 x 2 x 15 x 1 = 60 bytes; logits 1 prompt x 10 positions x 100
        Assert.Equal(60 + 1_000, KvWavePlanner.ChargeAll([Job(10, 2, 5)], Cost(1, logits: 100)));
        Assert.Equal(60 + 2_000, KvWavePlanner.ChargeAll([Job(10, 2, 5)], Cost(1, logits: 100) with { SharePrefix = false }));
        // an export that returns only each row's last position: one position per row
        Assert.Equal(60 + 200, KvWavePlanner.ChargeAll([Job(10, 2, 5)], Cost(1, logits: 100) with { LogitsEveryPosition = false }));
    }
}
