namespace GrmWorker.Inference.Sampling;

/// <summary>
/// Logits [vocab] + options + a row's RNG in, one token id out (llama2.c's sampler). Keeps scratch
/// buffers between calls, so one instance serves one thread; no model needed to use or test it.
/// Softmax runs in double and candidates are ordered by (probability desc, id asc), so a seed gives the
/// same token wherever it runs.
/// </summary>
public sealed class Sampler
{
    private double[] _probs = [];
    private Candidate[] _candidates = [];

    private struct Candidate
    {
        public double P;
        public int Id;
    }

    /// <summary>
    /// Index of the largest logit; the lowest id wins ties. NaN logits are skipped; logits with no
    /// usable value (all NaN or -inf: a broken model or export) throw rather than yield an arbitrary id.
    /// </summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty)
        {
            throw new ArgumentException("Logits are empty.", nameof(logits));
        }
        var best = -1;
        var bestValue = float.NegativeInfinity;
        for (var i = 0; i < logits.Length; i++)
        {
            if (logits[i] > bestValue)
            {
                bestValue = logits[i];
                best = i;
            }
        }
        return best >= 0 ? best : throw NoUsableLogits(logits.Length);
    }

    private static InvalidOperationException NoUsableLogits(int n) =>
        new($"All {n} logits are NaN or -infinity; the model produced no usable distribution.");

    public int Sample(ReadOnlySpan<float> logits, SamplingOptions options, ref SamplerRng rng)
    {
        if (options.IsGreedy)
        {
            return ArgMax(logits);
        }
        var n = logits.Length;
        if (_probs.Length < n)
        {
            _probs = new double[n];
            _candidates = new Candidate[n];
        }
        var probs = _probs.AsSpan(0, n);

        // softmax(logits / T) in double; NaN logits get probability 0, and +inf logits (if any) share all of it
        var invT = 1.0 / options.Temperature;
        var max = (double)logits[ArgMax(logits)];
        double sum = 0;
        for (var i = 0; i < n; i++)
        {
            var l = logits[i];
            var e = float.IsNaN(l) ? 0.0
                : double.IsPositiveInfinity(max) ? (float.IsPositiveInfinity(l) ? 1.0 : 0.0)
                : Math.Exp((l - max) * invT);
            probs[i] = e;
            sum += e;
        }
        for (var i = 0; i < n; i++)
        {
            probs[i] /= sum;
        }

        var topK = options.TopK > 0 && options.TopK < n ? options.TopK : n;
        var topP = options.TopP;
        if (topK == n && topP >= 1f)
        {
            return SampleMultinomial(probs, rng.NextDouble());
        }

        // Candidates: with top-p alone, tokens below (1 - p) / (n - 1) can never be in the nucleus
        // (llama2.c's cut), which keeps the sort short.
        var cutoff = topK == n && n > 1 ? (1.0 - topP) / (n - 1) : 0.0;
        var count = 0;
        for (var i = 0; i < n; i++)
        {
            if (probs[i] >= cutoff)
            {
                _candidates[count++] = new Candidate { P = probs[i], Id = i };
            }
        }
        var candidates = _candidates.AsSpan(0, count);
        candidates.Sort(static (a, b) => a.P != b.P ? b.P.CompareTo(a.P) : a.Id.CompareTo(b.Id));
        if (topK < count)
        {
            candidates = candidates[..topK];
        }

        // top-p over the (renormalised) candidates: keep the smallest prefix with mass >= p.
        double mass = 0;
        foreach (var c in candidates)
        {
            mass += c.P;
        }
        var keep = candidates.Length;
        if (topP < 1f)
        {
            double cumulative = 0;
            for (var i = 0; i < candidates.Length; i++)
            {
                cumulative += candidates[i].P / mass;
                if (cumulative >= topP)
                {
                    keep = i + 1;
                    break;
                }
            }
        }
        candidates = candidates[..keep];
        double kept = 0;
        foreach (var c in candidates)
        {
            kept += c.P;
        }
        var r = rng.NextDouble() * kept;
        double acc = 0;
        foreach (var c in candidates)
        {
            acc += c.P;
            if (r < acc)
            {
                return c.Id;
            }
        }
        return candidates[^1].Id; // rounding
    }

    private static int SampleMultinomial(ReadOnlySpan<double> probs, double coin)
    {
        double acc = 0;
        for (var i = 0; i < probs.Length; i++)
        {
            acc += probs[i];
            if (coin < acc)
            {
                return i;
            }
        }
        return probs.Length - 1;
    }
}
