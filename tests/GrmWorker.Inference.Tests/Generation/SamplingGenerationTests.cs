using GrmWorker.Inference.Generation;
using GrmWorker.Inference.Sampling;

namespace GrmWorker.Inference.Tests.Generation;

[Collection(TinyModelCollection.Name)]
public sealed class SamplingGenerationTests(TinyModel tiny)
{
    private static readonly SamplingOptions Warm = new() { Temperature = 0.9f, TopP = 0.95f, TopK = 50 };

    private int[] Prompt => tiny.Cases[1].PromptIds;

    [Fact]
    public void A_seeded_sampled_run_repeats_exactly_and_other_seeds_differ()
    {
        var generator = new BatchedGenerator(tiny.Model, tiny.NoEos);
        var job = GenerationJob.Create(Prompt, 4, seed: 1234, Warm, 24);

        var first = generator.Generate([job], CancellationToken.None).Jobs[0];
        var second = generator.Generate([job], CancellationToken.None).Jobs[0];

        Assert.Equal(first.Select(s => s.Tokens), second.Select(s => s.Tokens));
        Assert.Equal(4, first.Select(s => string.Join(",", s.Tokens)).Distinct().Count());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Prefix_shared_rows_equal_independent_rows(bool ioBindingAndPadding)
    {
        var model = ioBindingAndPadding ? tiny.BoundModel : tiny.Model;
        var job = GenerationJob.Create(Prompt, 6, seed: 99, Warm, 20);
        var other = GenerationJob.Create(tiny.Cases[0].PromptIds, 3, seed: 7, Warm, 20);

        var shared = new BatchedGenerator(model, tiny.NoEos).Generate([job, other], CancellationToken.None);
        var unshared = new BatchedGenerator(model, tiny.NoEos with { SharePrefix = false }).Generate([job, other], CancellationToken.None);

        Assert.Equal(unshared.Jobs.SelectMany(j => j).Select(s => s.Tokens), shared.Jobs.SelectMany(j => j).Select(s => s.Tokens));
        var pMax = Math.Max(Prompt.Length, tiny.Cases[0].PromptIds.Length);
        Assert.Equal(2 * pMax, shared.Stats.PrefillTokens);   // each prompt once
        Assert.Equal(9 * pMax, unshared.Stats.PrefillTokens); // every row
    }

    [Fact]
    public void A_sampled_row_in_a_batch_equals_the_same_seed_alone()
    {
        var generator = new BatchedGenerator(tiny.Model, GeneratorSettings.From(tiny.Config));
        var jobs = new[]
        {
            GenerationJob.Create(tiny.Cases[2].PromptIds, 3, seed: 5, Warm, 16),
            GenerationJob.Create(tiny.Cases[0].PromptIds, 2, seed: 50, Warm with { TopK = 0 }, 12),
        };
        var batched = generator.Generate(jobs, CancellationToken.None);
        var alone = generator.Generate([GenerationJob.Create(tiny.Cases[0].PromptIds, 1, seed: 51, Warm with { TopK = 0 }, 12)], CancellationToken.None);
        Assert.Equal(alone.Jobs[0][0].Tokens, batched.Jobs[1][1].Tokens);
    }

    [Fact]
    public void Per_sample_suffixes_after_a_shared_prefix_equal_whole_prompts()
    {
        var prefix = tiny.Cases[4].PromptIds.Take(40).ToArray();
        var suffixes = new[] { tiny.Cases[0].PromptIds, tiny.Cases[1].PromptIds.Take(5).ToArray(), [] };
        var job = new GenerationJob(prefix, suffixes.Select((s, i) => new GenerationSample((ulong)i, s)).ToArray(), SamplingOptions.GreedyDecoding, 10);
        var generator = new BatchedGenerator(tiny.Model, tiny.NoEos);

        var shared = generator.Generate([job], CancellationToken.None).Jobs[0];

        for (var i = 0; i < suffixes.Length; i++)
        {
            var whole = generator.Generate([.. prefix, .. suffixes[i]], SamplingOptions.GreedyDecoding, 10, 0, CancellationToken.None);
            Assert.Equal(whole.Tokens, shared[i].Tokens);
        }
    }

    [Fact]
    public void Stop_strings_end_a_row_and_cut_its_text()
    {
        static string Decode(ReadOnlySpan<int> ids)
        {
            var sb = new System.Text.StringBuilder();
            foreach (var id in ids)
            {
                sb.Append('<').Append(id).Append('>');
            }
            return sb.ToString();
        }
        var reference = tiny.Cases[0].GeneratedIds;
        var job = GenerationJob.Create(tiny.Cases[0].PromptIds, 1, 0, SamplingOptions.GreedyDecoding, 30) with
        {
            StopStrings = [$"<{reference[5]}>"],
        };
        var sample = new BatchedGenerator(tiny.Model, tiny.NoEos, Decode).Generate([job], CancellationToken.None).Jobs[0][0];

        var firstStop = Array.IndexOf(reference, reference[5]);
        Assert.Equal(FinishReason.StopString, sample.FinishReason);
        Assert.Equal(reference.Take(firstStop + 1), sample.Tokens);
        Assert.Equal(Decode(reference.Take(firstStop).ToArray()), sample.Text);
    }

    [Fact]
    public void Eos_ends_a_row_and_is_its_last_token()
    {
        var reference = tiny.Cases[3].GeneratedIds;
        var settings = tiny.NoEos with { EosTokenIds = [reference[3]] };
        var sample = new BatchedGenerator(tiny.Model, settings).Generate(tiny.Cases[3].PromptIds, SamplingOptions.GreedyDecoding, 30, 0, CancellationToken.None);
        var first = Array.IndexOf(reference, reference[3]);
        Assert.Equal(FinishReason.Eos, sample.FinishReason);
        Assert.Equal(reference.Take(first + 1), sample.Tokens);
    }

    [Fact]
    public void Cancellation_stops_between_steps()
    {
        using var cts = new CancellationTokenSource();
        var generator = new BatchedGenerator(tiny.Model, tiny.NoEos);
        using var run = generator.Start([GenerationJob.Create(Prompt, 2, 1, Warm, 500)]);
        run.Prefill(cts.Token);
        var steps = 0;
        var ex = Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            while (!run.IsDone)
            {
                cts.Token.ThrowIfCancellationRequested();
                run.Step(cts.Token);
                if (++steps == 3)
                {
                    cts.Cancel();
                }
            }
        });
        Assert.Equal(3, steps);
        Assert.Equal(cts.Token, ex.CancellationToken);
    }

    [Fact]
    public void Generate_with_a_cancelled_token_stops_before_the_second_step()
    {
        using var cts = new CancellationTokenSource();
        var calls = 0;
        string Decode(ReadOnlySpan<int> ids)
        {
            if (++calls == 2 * 5)
            {
                cts.Cancel(); // during step 5's stop-string check
            }
            return "x";
        }
        var job = GenerationJob.Create(Prompt, 1, 1, Warm, 400) with { StopStrings = ["never-there"] };
        var generator = new BatchedGenerator(tiny.Model, tiny.NoEos, Decode);
        var started = System.Diagnostics.Stopwatch.StartNew();
        Assert.ThrowsAny<OperationCanceledException>(() => generator.Generate([job], cts.Token));
        Assert.InRange(calls, 10, 11);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_model_without_a_kv_cache_is_refused_with_the_reason()
    {
        var ex = Assert.Throws<NotSupportedException>(() => CausalLm.Load(TestAssets.AddModel));
        Assert.Contains(TestAssets.AddModel, ex.Message);
        Assert.Contains("input_ids", ex.Message);
    }
}
