using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Simulation;
using GrmWorker.Scoring.Stopping;
static class Breakdown
{
    public static void Print(List<(GrmSample[] s, int n, int full, bool tie, double gap)> streams, IStoppingRule rule)
    {
        var edges = new[] { 0, 0.15, 0.5, 1, 2, 3, 10.0 };
        var jobs = new int[6]; var samples = new long[6]; var dis = new int[6]; var atMax = new int[6];
        var hist = new int[33];
        long total = 0;
        foreach (var (s, n, full, tie, gap) in streams)
        {
            var b = Array.FindIndex(edges, e => gap < e) - 1;
            var (d, r) = StoppingReplay.Run(rule, s, n);
            jobs[b]++; samples[b] += d; total += d; hist[d]++;
            if (d == 32) atMax[b]++;
            if (Voting.Vote(new ArraySegment<GrmSample>(s, 0, d), n).Best != full) dis[b]++;
        }
        for (var b = 0; b < 6; b++)
            Console.WriteLine($"gap [{edges[b]},{edges[b+1]}): jobs {100.0*jobs[b]/streams.Count:0.0}% samples {100.0*samples[b]/total:0.0}% perjob {samples[b]/(double)Math.Max(jobs[b],1):0.0} atMax {atMax[b]} disagree {dis[b]}");
        foreach (var nn in new[] { 2, 3, 4 })
        {
            var sel = streams.Where(x => x.n == nn).ToList(); long u = 0; int a = 0;
            foreach (var (s2, n2, f2, _, _) in sel) { var (d2, _) = StoppingReplay.Run(rule, s2, n2); u += d2; a += Voting.Vote(new ArraySegment<GrmSample>(s2, 0, d2), n2).Best == f2 ? 1 : 0; }
            Console.WriteLine($"n={nn}: jobs {sel.Count} frac {100.0*u/(32.0*sel.Count):0.0}% agree {100.0*a/sel.Count:0.00}%");
        }
        Console.WriteLine("stop at: " + string.Join(" ", Enumerable.Range(0, 33).Where(i => hist[i] > 0).Select(i => $"{i}:{hist[i]}")));
    }
}
