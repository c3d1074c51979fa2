using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Stopping;

/// Nonparametric prior on a pair's true mean difference, fitted by EM (NPMLE) on calibration pair means.
sealed class GridPrior
{
    public double[] Mu = [];
    public double[] W = [];
    public double S0;
    public static GridPrior Fit(List<IReadOnlyList<IReadOnlyList<int>>> jobs, double step = 0.1)
    {
        var pairs = new List<(double mean, int m)>();
        double ssw = 0; double dfw = 0;
        foreach (var samples in jobs)
        {
            var m = samples.Count; if (m < 4) continue;
            var n = samples[0].Count;
            for (var a = 0; a < n; a++) for (var b = a + 1; b < n; b++)
            {
                var mean = samples.Average(s => (double)(s[a] - s[b]));
                var ss = samples.Sum(s => (s[a] - s[b] - mean) * (s[a] - s[b] - mean));
                ssw += ss; dfw += m - 1;
                pairs.Add((mean, m)); pairs.Add((-mean, m));
            }
        }
        var s0 = ssw / dfw;
        var grid = new List<double>();
        for (var x = -9.0; x <= 9.0001; x += step) grid.Add(Math.Round(x, 6));
        var mu = grid.ToArray();
        var w = Enumerable.Repeat(1.0 / mu.Length, mu.Length).ToArray();
        var like = new double[pairs.Count, mu.Length];
        for (var i = 0; i < pairs.Count; i++)
            for (var g = 0; g < mu.Length; g++)
            {
                var z = (pairs[i].mean - mu[g]); like[i, g] = Math.Exp(-0.5 * z * z * pairs[i].m / s0);
            }
        var post = new double[mu.Length];
        for (var it = 0; it < 300; it++)
        {
            Array.Clear(post);
            for (var i = 0; i < pairs.Count; i++)
            {
                double tot = 0; for (var g = 0; g < mu.Length; g++) tot += w[g] * like[i, g];
                if (tot <= 0) continue;
                for (var g = 0; g < mu.Length; g++) post[g] += w[g] * like[i, g] / tot;
            }
            for (var g = 0; g < mu.Length; g++) w[g] = post[g] / pairs.Count;
        }
        return new GridPrior { Mu = mu, W = w, S0 = s0 };
    }
}

sealed class GridRule(StoppingOptions options, GridPrior prior, double nu0) : IStoppingRule
{
    public StoppingOptions Options { get; } = options;
    public StoppingDecision Evaluate(IReadOnlyList<GrmSample> drawn, int n)
    {
        if (drawn.Count >= Options.KMax) return new StoppingDecision(true, StopReason.KMax, -1, null, null);
        if (drawn.Count < Options.KMin) return StoppingDecision.Go(StopReason.BelowKMin);
        var valid = drawn.Where(s => s.IsValid && s.Scores!.Count == n).Select(s => s.Scores!).ToArray();
        if (valid.Length == 0) return StoppingDecision.Go(StopReason.Continue);
        var remaining = Options.KMax - drawn.Count;
        var f = remaining * (valid.Length + 1.0) / (drawn.Count + 2.0);
        var sums = new int[n];
        foreach (var s in valid) for (var i = 0; i < n; i++) sums[i] += s[i];
        var leader = Voting.Leader(sums);
        double change = 0; bool certain = true;
        for (var r = 0; r < n; r++)
        {
            if (r == leader) continue;
            var needed = sums[leader] - sums[r] + (r > leader ? 1 : 0);
            if (9 * remaining < needed) continue;
            certain = false;
            change += Catch(valid, leader, r, needed, f);
        }
        change = Math.Min(change, 1);
        var stop = certain || change <= Options.ErrorBound;
        return new StoppingDecision(stop, stop ? (certain ? StopReason.LeaderCertain : StopReason.LeaderSettled) : StopReason.Continue, leader, certain ? 0 : change, null);
    }
    double Catch(IReadOnlyList<int>[] valid, int a, int b, int needed, double f)
    {
        var m = valid.Length;
        var mean = valid.Average(s => (double)(s[a] - s[b]));
        var ss = valid.Sum(s => (s[a] - s[b] - mean) * (s[a] - s[b] - mean));
        var var = (nu0 * prior.S0 + ss) / (nu0 + m - 1);
        double tot = 0, acc = 0;
        var sd = Math.Sqrt(var * f);
        for (var g = 0; g < prior.Mu.Length; g++)
        {
            var z = mean - prior.Mu[g];
            var l = prior.W[g] * Math.Exp(-0.5 * z * z * m / var);
            if (l < 1e-300) continue;
            tot += l;
            acc += l * Dp.Phi((-needed + 0.5 - f * prior.Mu[g]) / sd);
        }
        return tot > 0 ? acc / tot : 1;
    }
}
