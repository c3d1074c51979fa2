namespace GrmWorker.Inference.Generation;

/// <summary>One row of a wave: sample <see cref="Sample"/> of job <see cref="Job"/> (indices into the caller's jobs).</summary>
public readonly record struct WaveRow(int Job, int Sample);

/// <summary>
/// Splits a generation's rows into waves whose KV cache fits a byte budget. A wave of R rows whose longest row
/// needs L positions (prompt + suffix + new tokens, rows padded to the longest) is charged
/// <c>2 x R x L x bytesPerToken</c>: in the concat layout a forward pass holds past [R, H, L-1, Dh] and present
/// [R, H, L, Dh] at once, and in the shared-buffer layout the prompt buffer during prefill or the smaller buffer
/// a compaction copies into lives beside the run's buffer. Neither layout shares KV memory between the rows of
/// one prompt (the prompt is prefilled once and copied), so every row is charged in full. Rows keep their
/// order; a row that alone exceeds the budget is an error that names the figures.
/// </summary>
public static class KvWavePlanner
{
    /// <summary>The factor in the charge above: past and present (or two buffers) live at once.</summary>
    public const int PeakFactor = 2;

    /// <summary>Bytes a wave of <paramref name="rows"/> rows of <paramref name="positions"/> positions is charged.</summary>
    public static long Charge(int rows, int positions, long bytesPerToken) => PeakFactor * rows * (long)positions * bytesPerToken;

    /// <summary>Positions row (job, sample) needs: prompt + its suffix + the job's new tokens, at most the context.</summary>
    public static int Positions(GenerationJob job, int sample, int contextLength) =>
        (int)Math.Min(contextLength, (long)job.PromptIds.Count + (job.Samples[sample].SuffixIds?.Count ?? 0) + job.MaxNewTokens);

    /// <summary>Waves of rows in job, sample order; one wave when everything fits.</summary>
    public static IReadOnlyList<IReadOnlyList<WaveRow>> Plan(IReadOnlyList<GenerationJob> jobs, long bytesPerToken, int contextLength, long budgetBytes)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentOutOfRangeException.ThrowIfLessThan(bytesPerToken, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(budgetBytes, 1);
        var waves = new List<IReadOnlyList<WaveRow>>();
        var wave = new List<WaveRow>();
        var longest = 0;
        for (var j = 0; j < jobs.Count; j++)
        {
            for (var s = 0; s < jobs[j].Samples.Count; s++)
            {
                var positions = Positions(jobs[j], s, contextLength);
                if (Charge(1, positions, bytesPerToken) > budgetBytes)
                {
                    throw new KvBudgetExceededException(
                        $"Job {j} sample {s} needs {positions} KV positions, {Charge(1, positions, bytesPerToken):N0} bytes at {bytesPerToken:N0} bytes per position " +
                        $"(x{PeakFactor} while past and present coexist), more than Inference:KvCacheBudget = {budgetBytes:N0} bytes. Raise the budget or lower maxNewTokens / the prompt length.");
                }
                var widened = Math.Max(longest, positions);
                if (wave.Count > 0 && Charge(wave.Count + 1, widened, bytesPerToken) > budgetBytes)
                {
                    waves.Add(wave);
                    wave = [];
                    widened = positions;
                }
                wave.Add(new WaveRow(j, s));
                longest = widened;
            }
        }
        if (wave.Count > 0)
        {
            waves.Add(wave);
        }
        return waves;
    }
}

/// <summary>A single row needs more KV memory than the budget allows.</summary>
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
