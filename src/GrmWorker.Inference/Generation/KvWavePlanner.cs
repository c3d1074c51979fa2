namespace GrmWorker.Inference.Generation;

/// <summary>One row of a wave: sample <see cref="Sample"/> of job <see cref="Job"/> (indices into the caller's jobs).</summary>
public readonly record struct WaveRow(int Job, int Sample);

/// <summary>What a generation's memory is measured in: per cached position of a row, per prefilled position's logits.</summary>
/// <param name="KvBytesPerToken">KV bytes one row needs per position (<see cref="CausalLm.KvBytesPerToken"/>).</param>
/// <param name="LogitsBytesPerPosition">Logits bytes per returned position: vocab x element size.</param>
/// <param name="ContextLength">Positions a row may reach.</param>
/// <param name="SharePrefix">A job's prompt is prefilled once for its k rows (else once per row).</param>
/// <param name="LogitsEveryPosition">The export returns every fed position's logits (optimum exports do), not just the last.</param>
public sealed record WaveCost(long KvBytesPerToken, long LogitsBytesPerPosition, int ContextLength, bool SharePrefix, bool LogitsEveryPosition = true);

/// <summary>
/// Splits a generation's rows into waves whose memory fits a byte budget. A wave of R rows whose longest row needs L
/// positions (prompt + suffix + new tokens; rows are padded to the longest) is charged
/// <c>2 x R x L x KvBytesPerToken</c> for its KV cache (in the concat layout a forward pass holds past [R, H, L-1, Dh]
/// and present [R, H, L, Dh] at once; in the shared-buffer layout the prompt buffer during prefill, or the smaller
/// buffer a compaction copies into, lives beside the run's buffer), plus the logits of its prefill:
/// <c>max(J x Pmax, R x Smax) x LogitsBytesPerPosition</c> (J distinct prompts of up to Pmax tokens, suffixes of up
/// to Smax), for exports that return logits for every fed position (else one position per row). Neither layout shares KV memory between the rows
/// of one prompt (it is prefilled once and copied), so every row is charged in full. Rows keep their order; a row
/// that alone exceeds the budget is an error that names the figures.
/// </summary>
public static class KvWavePlanner
{
    /// <summary>The KV factor in the charge above: past and present (or two buffers) live at once.</summary>
    public const int PeakFactor = 2;

    /// <summary>Bytes a wave of <paramref name="rows"/> rows of <paramref name="positions"/> positions is charged for its KV cache.</summary>
    public static long Charge(int rows, int positions, long bytesPerToken) => PeakFactor * rows * (long)positions * bytesPerToken;

    /// <summary>Positions row (job, sample) needs: prompt + its suffix + the job's new tokens, at most the context.</summary>
    public static int Positions(GenerationJob job, int sample, int contextLength) =>
        (int)Math.Min(contextLength, (long)job.PromptIds.Count + SuffixLength(job, sample) + job.MaxNewTokens);

    /// <summary>Bytes all rows of <paramref name="jobs"/> are charged when they run as one wave.</summary>
    public static long ChargeAll(IReadOnlyList<GenerationJob> jobs, WaveCost cost)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var wave = new Wave(cost);
        for (var j = 0; j < jobs.Count; j++)
        {
            for (var s = 0; s < jobs[j].Samples.Count; s++)
            {
                wave = wave.With(jobs[j], j, s);
            }
        }
        return wave.Bytes;
    }

    /// <summary>Waves of rows in job, sample order; one wave when everything fits.</summary>
    public static IReadOnlyList<IReadOnlyList<WaveRow>> Plan(IReadOnlyList<GenerationJob> jobs, WaveCost cost, long budgetBytes)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(cost);
        ArgumentOutOfRangeException.ThrowIfLessThan(cost.KvBytesPerToken, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(budgetBytes, 1);
        var waves = new List<IReadOnlyList<WaveRow>>();
        var wave = new Wave(cost);
        for (var j = 0; j < jobs.Count; j++)
        {
            for (var s = 0; s < jobs[j].Samples.Count; s++)
            {
                var alone = new Wave(cost).With(jobs[j], j, s);
                if (alone.Bytes > budgetBytes)
                {
                    throw new KvBudgetExceededException(
                        $"Job {j} sample {s} alone needs {alone.Bytes:N0} bytes ({alone.Longest} KV positions at {cost.KvBytesPerToken:N0} bytes each, x{PeakFactor} " +
                        $"while past and present coexist, plus its prefill logits), more than Inference:KvCacheBudget = {budgetBytes:N0} bytes. " +
                        "Raise the budget or lower maxNewTokens / the prompt length.");
                }
                var grown = wave.With(jobs[j], j, s);
                if (wave.Rows.Count > 0 && grown.Bytes > budgetBytes)
                {
                    waves.Add(wave.Rows);
                    grown = alone;
                }
                wave = grown;
            }
        }
        if (wave.Rows.Count > 0)
        {
            waves.Add(wave.Rows);
        }
        return waves;
    }

    private static int SuffixLength(GenerationJob job, int sample) => job.Samples[sample].SuffixIds?.Count ?? 0;

    /// <summary>A wave being filled: its rows and the figures its charge depends on.</summary>
    private sealed record Wave(WaveCost Cost)
    {
        public IReadOnlyList<WaveRow> Rows { get; private init; } = [];

        public int Longest { get; private init; }

        private int Prompts { get; init; }

        private int LastJob { get; init; } = -1;

        private int PromptMax { get; init; }

        private int SuffixMax { get; init; }

        public long Bytes
        {
            get
            {
                var prompts = Cost.SharePrefix ? Prompts : Rows.Count;
                var positions = Cost.LogitsEveryPosition ? Math.Max(prompts * (long)PromptMax, Rows.Count * (long)SuffixMax) : Rows.Count;
                var logits = positions * Cost.LogitsBytesPerPosition;
                return Charge(Rows.Count, Longest, Cost.KvBytesPerToken) + logits;
            }
        }

        public Wave With(GenerationJob job, int jobIndex, int sample) => this with
        {
            Rows = [.. Rows, new WaveRow(jobIndex, sample)],
            Longest = Math.Max(Longest, Positions(job, sample, Cost.ContextLength)),
            Prompts = Prompts + (jobIndex != LastJob ? 1 : 0),
            LastJob = jobIndex,
            PromptMax = Math.Max(PromptMax, job.PromptIds.Count),
            SuffixMax = Math.Max(SuffixMax, SuffixLength(job, sample)),
        };
    }
}

/// <summary>A single row needs more memory than the KV budget allows.</summary>
public sealed class KvBudgetExceededException : Exception
{
    public KvBudgetExceededException()
    {
    }

    public KvBudgetExceededException(string message)
        : base(message)
    {
    }

    public KvBudgetExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
