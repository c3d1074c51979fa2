using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Stopping;
static class Calib
{
    public static void Print(List<(GrmSample[] s, int n, int full, bool tie, double gap)> streams, IStoppingRule rule)
    {
        var bins = new double[] { 0, 0.003, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.01 };
        foreach (var nn in new[] { 2, 3, 4 })
        {
            var cnt = new int[bins.Length]; var sumP = new double[bins.Length]; var flips = new int[bins.Length];
            foreach (var (stream, n, full, _, _) in streams.Where(x => x.n == nn))
                for (var k = 2; k < 32; k++)
                {
                    var d = rule.Evaluate(new ArraySegment<GrmSample>(stream, 0, k), n);
                    if (d.ChangeProbability is not { } p || d.Leader < 0 || p == 0) continue;
                    var b = Array.FindIndex(bins, x => p < x) - 1; if (b < 0) b = 0;
                    cnt[b]++; sumP[b] += p; flips[b] += d.Leader != full ? 1 : 0;
                }
            Console.WriteLine($"n={nn}: " + string.Join("  ", Enumerable.Range(0, bins.Length - 1).Select(b => $"[{bins[b]}] {cnt[b]} p{sumP[b] / Math.Max(cnt[b], 1):0.0000}/f{flips[b] / (double)Math.Max(cnt[b], 1):0.0000}")));
        }
    }
}
