using GrmWorker.Inference.Generation;
using GrmWorker.Inference.Sampling;
using Xunit;

namespace GrmWorker.Inference.Tests.Generation;

/// <summary>The check both KV layouts must pass: rows batched together decode exactly as each row alone.</summary>
internal static class BatchParity
{
    /// <summary>
    /// Eight greedy prompts of different lengths and budgets (so rows finish at different steps) generated as one
    /// batch and one by one: the same tokens and finish reasons, row for row.
    /// </summary>
    public static void AssertBatchOfEightEqualsSingleRuns(BatchedGenerator generator, IReadOnlyList<ReferenceCase> cases)
    {
        var prompts = Enumerable.Range(0, 8)
            .Select(i => cases[i % cases.Count].PromptIds.Take(3 + (i * 37 % 200)).ToArray())
            .ToArray();
        var jobs = prompts.Select((p, i) => GenerationJob.Create(p, 1, 0, SamplingOptions.GreedyDecoding, 6 + (5 * i))).ToList();

        var batched = generator.Generate(jobs, CancellationToken.None);

        for (var i = 0; i < jobs.Count; i++)
        {
            var single = generator.Generate([jobs[i]], CancellationToken.None).Jobs[0][0];
            Assert.Equal(single.Tokens, batched.Jobs[i][0].Tokens);
            Assert.Equal(single.FinishReason, batched.Jobs[i][0].FinishReason);
        }
        Assert.Contains(batched.Jobs, j => j[0].Tokens.Count != batched.Jobs[0][0].Tokens.Count);
    }
}
