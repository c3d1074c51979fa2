using GrmWorker.Contracts;

namespace GrmWorker.Worker.Relabel;

/// <summary>
/// The run's figures. Written by the run (one writer per figure), read at any time by the progress display.
/// Samples saved by early stopping: <c>kMax - samplesUsed</c> of each job that stopped early, with kMax the line's
/// own or, when it has none, the setting Stopping:KMax as this process reads it (the worker's default in the usual
/// setup, where both read the same GRM_* settings).
/// </summary>
internal sealed class RelabelCounters
{
    private readonly long _start = TimeProvider.System.GetTimestamp();
    private int _lines;
    private int _skipped;
    private int _toSend;
    private int _sent;
    private int _scored;
    private int _failed;
    private int _rejected;
    private int _timedOut;
    private int _completed;
    private long _samplesUsed;
    private long _samplesSaved;

    public int Lines => Volatile.Read(ref _lines);

    public int Skipped => Volatile.Read(ref _skipped);

    /// <summary>Lines this run sends (not done yet, not rejected by the checks here).</summary>
    public int ToSend => Volatile.Read(ref _toSend);

    public int Sent => Volatile.Read(ref _sent);

    public int Scored => Volatile.Read(ref _scored);

    public int Failed => Volatile.Read(ref _failed);

    /// <summary>Every line in the rejects file, timeouts included.</summary>
    public int Rejected => Volatile.Read(ref _rejected);

    public int TimedOut => Volatile.Read(ref _timedOut);

    public long SamplesUsed => Volatile.Read(ref _samplesUsed);

    public long SamplesSaved => Volatile.Read(ref _samplesSaved);

    /// <summary>Jobs of this run that came back (any status) or timed out.</summary>
    public int Completed => Volatile.Read(ref _completed);

    public TimeSpan Elapsed => TimeProvider.System.GetElapsedTime(_start);

    public double JobsPerSecond => Completed / Math.Max(Elapsed.TotalSeconds, 1e-3);

    /// <summary>Time left at the rate so far; null before the first job came back.</summary>
    public TimeSpan? Eta => Completed == 0 ? null : TimeSpan.FromSeconds(Math.Max(0, ToSend - Completed) / JobsPerSecond);

    public void LineRead() => Interlocked.Increment(ref _lines);

    public void LineSkipped() => Interlocked.Increment(ref _skipped);

    public void LineToSend() => Interlocked.Increment(ref _toSend);

    public void LineRejected() => Interlocked.Increment(ref _rejected);

    public void JobSent() => Interlocked.Increment(ref _sent);

    public void JobTimedOut()
    {
        Interlocked.Increment(ref _timedOut);
        Interlocked.Increment(ref _rejected);
        Interlocked.Increment(ref _completed);
    }

    /// <summary>A result came back: scored and failed ones are in OUT, rejected ones in the rejects file.</summary>
    public void JobCompleted(ScoreResult result, int kMax)
    {
        ArgumentNullException.ThrowIfNull(result);
        switch (result.Status)
        {
            case ScoreStatus.Scored: Interlocked.Increment(ref _scored); break;
            case ScoreStatus.Failed: Interlocked.Increment(ref _failed); break;
            default: Interlocked.Increment(ref _rejected); break;
        }
        Interlocked.Add(ref _samplesUsed, result.SamplesUsed);
        if (result.StoppedEarly) Interlocked.Add(ref _samplesSaved, Math.Max(0, kMax - result.SamplesUsed));
        Interlocked.Increment(ref _completed);
    }
}
