namespace GrmWorker.Worker.Pipeline;

/// <summary>
/// Meta scores for the new valid samples of many runs in one batched meta-RM call: what a worker round and `grm eval`
/// both do, so eval measures exactly what the worker computes.
/// </summary>
internal static class MetaRmBatch
{
    /// <returns>How many samples got a meta score, and from how many runs.</returns>
    public static async Task<(int Samples, int Runs)> ScorePendingAsync(IMetaScorer scorer, IEnumerable<JobRun> runs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scorer);
        var pending = runs.Select(r => (Run: r, Inputs: r.PendingMetaInputs())).Where(p => p.Inputs.Count > 0).ToArray();
        if (pending.Length == 0) return (0, 0);
        var scores = await scorer.ScoreAsync([.. pending.SelectMany(p => p.Inputs.Select(i => i.Text))], cancellationToken);
        var next = 0;
        foreach (var (run, inputs) in pending)
        {
            foreach (var (position, _) in inputs)
                run.SetMetaScore(position, scores[next++]);
        }
        return (next, pending.Length);
    }
}
