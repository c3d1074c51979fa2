static class Dp
{
    const int K = 32, SMax = 9 * K;
    public static double Phi(double x) => 0.5 * Erfc(-x / Math.Sqrt(2));
    static double Erfc(double x)
    {
        var z = Math.Abs(x); var t = 1 / (1 + 0.5 * z);
        var r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
    static double P(int m, int s, double sig2, double k0)
    {
        if (s == 0) return 0.5;
        var a = Math.Abs(s); var F = K - m; if (F == 0) return 0;
        var mu = a / (m + k0); var sd = Math.Sqrt(sig2 * (F + (double)F * F / (m + k0)));
        return Phi((-a + 0.5 - F * mu) / sd);
    }
    static double[] Trans(int m, int s, double sig2, double k0)
    {
        var mu = s / (m + k0); var sd = Math.Sqrt(sig2 * (1 + 1 / (m + k0)));
        var pr = new double[19]; double tot = 0;
        for (var d = -9; d <= 9; d++) { pr[d + 9] = Phi((d + 0.5 - mu) / sd) - Phi((d - 0.5 - mu) / sd); tot += pr[d + 9]; }
        for (var i = 0; i < 19; i++) pr[i] /= tot; return pr;
    }
    // policy: stop(m,s) ; returns (E[N], E[err]) from m=0,s=0, forced to draw kmin
    static (double n, double err) Evaluate(Func<int, int, bool> stop, double sig2, double k0, int kmin)
    {
        var prob = new Dictionary<int, double> { [0] = 1.0 };
        double en = 0, err = 0;
        for (var m = 0; m < K; m++)
        {
            var next = new Dictionary<int, double>();
            foreach (var (s, w) in prob)
            {
                if (m >= kmin && stop(m, s)) { en += w * m; err += w * P(m, s, sig2, k0); continue; }
                var tr = Trans(m, s, sig2, k0);
                for (var d = -9; d <= 9; d++) { if (tr[d + 9] < 1e-12) continue; next[s + d] = next.GetValueOrDefault(s + d) + w * tr[d + 9]; }
            }
            prob = next;
        }
        foreach (var (s, w) in prob) en += w * K;
        return (en, err);
    }
    public static void Run(double sig2, double k0)
    {
        foreach (var delta in new[] { 0.005, 0.01, 0.02, 0.03 })
        {
            var r = Evaluate((m, s) => P(m, s, sig2, k0) <= delta, sig2, k0, 2);
            Console.WriteLine($"threshold δ={delta}: E[N]={r.n:0.00} ({100*r.n/K:0.0}%) err={100*r.err:0.000}%");
        }
        foreach (var lambda in new[] { 100.0, 200, 400, 800, 1600 })
        {
            // backward induction
            var V = new double[K + 1][]; var stopAt = new bool[K + 1][];
            for (var m = K; m >= 0; m--)
            {
                V[m] = new double[2 * SMax + 1]; stopAt[m] = new bool[2 * SMax + 1];
                for (var s = -9 * m; s <= 9 * m; s++)
                {
                    var stopCost = lambda * P(m, s, sig2, k0);
                    if (m == K) { V[m][s + SMax] = 0; stopAt[m][s + SMax] = true; continue; }
                    var tr = Trans(m, s, sig2, k0); double cont = 1;
                    for (var d = -9; d <= 9; d++) cont += tr[d + 9] * V[m + 1][s + d + SMax];
                    stopAt[m][s + SMax] = stopCost <= cont; V[m][s + SMax] = Math.Min(stopCost, cont);
                }
            }
            var r = Evaluate((m, s) => stopAt[m][s + SMax], sig2, k0, 2);
            var sched = string.Join(" ", Enumerable.Range(2, 29).Where(m => m % 3 == 2).Select(m => { var b = Enumerable.Range(0, 9 * m + 1).FirstOrDefault(s => stopAt[m][s + SMax], -1); return $"m{m}:b{b} p{(b < 0 ? 0 : P(m, b, sig2, k0)):0.000}"; }));
            Console.WriteLine($"DP λ={lambda}: E[N]={r.n:0.00} ({100*r.n/K:0.0}%) err={100*r.err:0.000}%  {sched}");
        }
    }
}
