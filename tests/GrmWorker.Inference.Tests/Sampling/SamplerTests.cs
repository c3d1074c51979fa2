using GrmWorker.Inference.Sampling;

namespace GrmWorker.Inference.Tests.Sampling;

public sealed class SamplerTests
{
    private static readonly float[] Logits = [0.1f, 2.5f, -1f, 2.5f, 1.0f, 0.3f];

    [Fact]
    public void Greedy_takes_the_argmax_and_the_lowest_id_on_ties()
    {
        var sampler = new Sampler();
        var rng = new SamplerRng(1);
        Assert.Equal(1, sampler.Sample(Logits, SamplingOptions.GreedyDecoding, ref rng));
        Assert.Equal(1, sampler.Sample(Logits, new SamplingOptions { Temperature = 0 }, ref rng));
        Assert.Equal(1, Sampler.ArgMax(Logits));
    }

    [Fact]
    public void Top_k_of_one_is_greedy_whatever_the_seed()
    {
        var sampler = new Sampler();
        for (ulong seed = 0; seed < 50; seed++)
        {
            var rng = new SamplerRng(seed);
            Assert.Equal(1, sampler.Sample(Logits, new SamplingOptions { TopK = 1 }, ref rng));
        }
    }

    [Fact]
    public void Top_k_only_draws_from_the_k_largest()
    {
        var sampler = new Sampler();
        var seen = new HashSet<int>();
        for (ulong seed = 0; seed < 500; seed++)
        {
            var rng = new SamplerRng(seed);
            seen.Add(sampler.Sample(Logits, new SamplingOptions { TopK = 3, Temperature = 5f }, ref rng));
        }
        Assert.Equal([1, 3, 4], seen.Order());
    }

    [Fact]
    public void Top_p_keeps_the_smallest_nucleus_reaching_p()
    {
        // probabilities 0.5, 0.3, 0.15, 0.05: p = 0.75 keeps {0, 1}; p = 0.85 keeps {0, 1, 2}.
        float[] logits = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.15f), MathF.Log(0.05f)];
        var sampler = new Sampler();
        var seen75 = new HashSet<int>();
        var seen85 = new HashSet<int>();
        for (ulong seed = 0; seed < 2000; seed++)
        {
            var rng = new SamplerRng(seed);
            seen75.Add(sampler.Sample(logits, new SamplingOptions { TopP = 0.75f }, ref rng));
            seen85.Add(sampler.Sample(logits, new SamplingOptions { TopP = 0.85f }, ref rng));
        }
        Assert.Equal([0, 1], seen75.Order());
        Assert.Equal([0, 1, 2], seen85.Order());
    }

    [Fact]
    public void Draws_follow_the_softmax_distribution()
    {
        float[] logits = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.2f)];
        var counts = Histogram(logits, new SamplingOptions(), 20000);
        Assert.InRange(counts[0] / 20000.0, 0.48, 0.52);
        Assert.InRange(counts[1] / 20000.0, 0.28, 0.32);
        Assert.InRange(counts[2] / 20000.0, 0.18, 0.22);
    }

    [Fact]
    public void Temperature_sharpens_or_flattens_the_distribution()
    {
        float[] logits = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.2f)];
        var cold = Histogram(logits, new SamplingOptions { Temperature = 0.25f }, 10000);
        var hot = Histogram(logits, new SamplingOptions { Temperature = 4f }, 10000);
        // T = 0.25: p ∝ p^4 -> 0.0625 : 0.0081 : 0.0016 -> ~0.86 for token 0; T = 4 flattens towards 1/3.
        Assert.InRange(cold[0] / 10000.0, 0.83, 0.89);
        Assert.InRange(hot[0] / 10000.0, 0.34, 0.40);
        Assert.InRange(hot[2] / 10000.0, 0.27, 0.33);
    }

    [Fact]
    public void The_same_seed_gives_the_same_draws_and_another_seed_differs()
    {
        var logits = Enumerable.Range(0, 300).Select(i => MathF.Sin(i * 0.37f) * 3).ToArray();
        var options = new SamplingOptions { Temperature = 0.9f, TopP = 0.95f, TopK = 40 };
        Assert.Equal(Draws(7), Draws(7));
        Assert.NotEqual(Draws(7), Draws(8));

        int[] Draws(ulong seed)
        {
            var sampler = new Sampler();
            var rng = new SamplerRng(seed);
            return Enumerable.Range(0, 64).Select(_ => sampler.Sample(logits, options, ref rng)).ToArray();
        }
    }

    [Fact]
    public void The_rng_stream_is_fixed_for_a_seed()
    {
        // Pinned values: a change here changes every seeded sample ever stored.
        var rng = new SamplerRng(42);
        var first = rng.NextUInt64();
        var again = new SamplerRng(42);
        Assert.Equal(first, again.NextUInt64());
        Assert.Equal(1546998764402558742UL, first);
        Assert.Equal(0.3789802506626686, rng.NextDouble());
        Assert.Equal(10405484009399916488UL, new SamplerRng(43).NextUInt64());
    }

    [Theory]
    [InlineData(-0.1f, 1f, 0)]
    [InlineData(1f, 0f, 0)]
    [InlineData(1f, 1.5f, 0)]
    [InlineData(1f, 1f, -1)]
    public void Invalid_options_are_rejected(float temperature, float topP, int topK)
    {
        var options = new SamplingOptions { Temperature = temperature, TopP = topP, TopK = topK };
        Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
    }

    [Fact]
    public void Nan_logits_are_never_drawn_and_do_not_poison_the_others()
    {
        float[] logits = [float.NaN, 1f, float.NaN, 0.5f];
        Assert.Equal(1, Sampler.ArgMax(logits));
        foreach (var options in new[] { new SamplingOptions(), new SamplingOptions { TopP = 0.9f }, new SamplingOptions { TopK = 3 } })
        {
            var counts = Histogram(logits, options, 2000);
            Assert.Equal(0, counts[0]);
            Assert.Equal(0, counts[2]);
            Assert.Equal(2000, counts[1] + counts[3]);
            Assert.True(counts[1] > counts[3]);
        }
    }

    [Fact]
    public void Positive_infinity_logits_share_all_the_mass()
    {
        float[] logits = [3f, float.PositiveInfinity, 2f, float.PositiveInfinity];
        var counts = Histogram(logits, new SamplingOptions(), 2000);
        Assert.Equal(0, counts[0] + counts[2]);
        Assert.InRange(counts[1], 800, 1200);
    }

    [Fact]
    public void A_single_finite_logit_among_negative_infinities_is_always_drawn()
    {
        float[] logits = [float.NegativeInfinity, float.NegativeInfinity, -3f, float.NegativeInfinity];
        Assert.Equal(2, Sampler.ArgMax(logits));
        Assert.Equal([0, 0, 500, 0], Histogram(logits, new SamplingOptions { TopP = 0.5f }, 500));
        Assert.Equal([0, 0, 500, 0], Histogram(logits, new SamplingOptions(), 500));
    }

    [Theory]
    [InlineData(float.NegativeInfinity)]
    [InlineData(float.NaN)]
    public void Logits_without_a_usable_value_throw_instead_of_returning_an_arbitrary_id(float value)
    {
        var logits = new[] { value, value, value };
        var sampler = new Sampler();
        var rng = new SamplerRng(1);
        Assert.Throws<InvalidOperationException>(() => Sampler.ArgMax(logits));
        Assert.Throws<InvalidOperationException>(() => sampler.Sample(logits, new SamplingOptions(), ref rng));
        Assert.Throws<InvalidOperationException>(() => sampler.Sample(logits, new SamplingOptions { TopP = 0.9f }, ref rng));
    }

    private static int[] Histogram(float[] logits, SamplingOptions options, int draws)
    {
        var sampler = new Sampler();
        var rng = new SamplerRng(12345);
        var counts = new int[logits.Length];
        for (var i = 0; i < draws; i++)
        {
            counts[sampler.Sample(logits, options, ref rng)]++;
        }
        return counts;
    }
}
