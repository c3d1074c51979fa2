using System.Globalization;
using System.Text;

namespace GrmWorker.Worker.Hosting;

/// <summary>
/// The worker's counters and histograms, rendered in the Prometheus text format at <c>/metrics</c>. Lock-free
/// counters; histograms take a small lock. Names follow Prometheus conventions (<c>_total</c>, <c>_seconds</c>).
/// </summary>
public sealed class WorkerMetrics
{
    private static readonly double[] LatencyBuckets = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
    private static readonly double[] BatchBuckets = [1, 2, 4, 8, 16, 32, 64];

    private readonly Dictionary<string, long> _jobs = new(StringComparer.Ordinal);
    private readonly Histogram _jobLatency = new(LatencyBuckets);
    private readonly Histogram _roundLatency = new(LatencyBuckets);
    private readonly Histogram _batchSize = new(BatchBuckets);
    private long _samples;
    private long _validSamples;
    private long _samplesSaved;
    private long _generatedTokens;
    private long _generationTicks;
    private long _duplicates;
    private long _kvPeak;

    public void JobFinished(string status, double latencySeconds)
    {
        lock (_jobs) _jobs[status] = _jobs.GetValueOrDefault(status) + 1;
        _jobLatency.Observe(latencySeconds);
    }

    public void SamplesDrawn(int samples, int valid, int saved)
    {
        Interlocked.Add(ref _samples, samples);
        Interlocked.Add(ref _validSamples, valid);
        Interlocked.Add(ref _samplesSaved, saved);
    }

    public void RoundGenerated(int generatedTokens, TimeSpan elapsed, long generatorPeakBytes = 0)
    {
        long seen;
        while (generatorPeakBytes > (seen = Interlocked.Read(ref _kvPeak)) && Interlocked.CompareExchange(ref _kvPeak, generatorPeakBytes, seen) != seen)
        {
        }
        Interlocked.Add(ref _generatedTokens, generatedTokens);
        Interlocked.Add(ref _generationTicks, elapsed.Ticks);
        _roundLatency.Observe(elapsed.TotalSeconds);
    }

    /// <summary>Time spent in generation rounds so far (what <c>grm_generation_seconds_total</c> reports).</summary>
    public TimeSpan GenerationTime => TimeSpan.FromTicks(Interlocked.Read(ref _generationTicks));

    public void BatchReceived(int size) => _batchSize.Observe(size);

    public void DuplicateRepublished() => Interlocked.Increment(ref _duplicates);

    public string Render()
    {
        var text = new StringBuilder();
        text.Append("# HELP grm_jobs_total Jobs finished, by result status.\n# TYPE grm_jobs_total counter\n");
        lock (_jobs)
        {
            foreach (var (status, count) in _jobs.OrderBy(j => j.Key, StringComparer.Ordinal))
                text.Append(CultureInfo.InvariantCulture, $"grm_jobs_total{{status=\"{status}\"}} {count}\n");
        }
        Counter(text, "grm_samples_total", "GRM samples drawn.", Interlocked.Read(ref _samples));
        Counter(text, "grm_samples_valid_total", "GRM samples whose output parsed.", Interlocked.Read(ref _validSamples));
        Counter(text, "grm_samples_saved_total", "Samples not drawn because adaptive stopping stopped before kMax.", Interlocked.Read(ref _samplesSaved));
        Counter(text, "grm_generated_tokens_total", "Tokens generated.", Interlocked.Read(ref _generatedTokens));
        Counter(text, "grm_generation_seconds_total", "Time spent generating (tokens/s = rate of tokens / rate of this).",
            TimeSpan.FromTicks(Interlocked.Read(ref _generationTicks)).TotalSeconds);
        Counter(text, "grm_duplicates_total", "Requests with a known requestId whose stored result was published again.", Interlocked.Read(ref _duplicates));
        Gauge(text, "grm_generator_peak_bytes", "The most KV cache plus prefill logits one generation round held (bounded by Inference:KvCacheBudget).",
            Interlocked.Read(ref _kvPeak));
        var gc = GC.GetGCMemoryInfo();
        Gauge(text, "process_resident_memory_bytes", "Resident memory of the process (VmRSS).", ProcessMemory.RssBytes());
        Gauge(text, "process_resident_memory_peak_bytes", "Peak resident memory of the process (VmHWM).", ProcessMemory.PeakRssBytes());
        Gauge(text, "dotnet_gc_heap_size_bytes", "Managed heap size after the last GC.", gc.HeapSizeBytes);
        Gauge(text, "dotnet_gc_committed_bytes", "Memory the GC has committed.", gc.TotalCommittedBytes);
        _batchSize.Render(text, "grm_batch_size", "Requests per consumed batch.");
        _roundLatency.Render(text, "grm_round_seconds", "Wall time of one batched generation round.");
        _jobLatency.Render(text, "grm_job_latency_seconds", "Time from receipt to result, per job.");
        return text.ToString();
    }

    private static void Counter(StringBuilder text, string name, string help, double value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");

    private static void Gauge(StringBuilder text, string name, string help, double value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");

    private sealed class Histogram(double[] bounds)
    {
        private readonly long[] _counts = new long[bounds.Length + 1];
        private double _sum;
        private long _count;

        public void Observe(double value)
        {
            lock (_counts)
            {
                var i = 0;
                while (i < bounds.Length && value > bounds[i]) i++;
                _counts[i]++;
                _sum += value;
                _count++;
            }
        }

        public void Render(StringBuilder text, string name, string help)
        {
            text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} histogram\n");
            lock (_counts)
            {
                long cumulative = 0;
                for (var i = 0; i < bounds.Length; i++)
                {
                    cumulative += _counts[i];
                    text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"{bounds[i]}\"}} {cumulative}\n");
                }
                text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"+Inf\"}} {_count}\n{name}_sum {_sum}\n{name}_count {_count}\n");
            }
        }
    }
}
