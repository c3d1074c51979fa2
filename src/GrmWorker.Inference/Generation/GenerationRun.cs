using System.Diagnostics;
using System.Runtime.InteropServices;
using GrmWorker.Inference.Runtime;
using GrmWorker.Inference.Sampling;
using Microsoft.ML.OnnxRuntime;

namespace GrmWorker.Inference.Generation;

/// <summary>
/// The state of one batched generation (llama2.c's generate loop, for B rows):
/// <list type="number">
/// <item>prefill: the distinct prompts (one per job, or per row when prefix sharing is off) in one batch;</item>
/// <item>copy each prompt's KV to its k rows; prefill per-row suffixes;</item>
/// <item>decode: one token per active row per step; finished rows are dropped (their KV rows copied away) or padded.</item>
/// </list>
/// How the KV cache is laid out, fed and compacted is the model's <see cref="KvCacheLayout"/>, one class each:
/// <see cref="ConcatKvLayout"/> (past in, present out, left-padded rows) and <see cref="SharedBufferKvLayout"/>
/// (one buffer bound as past and present, left-aligned rows). This file is what both share: the rows, sampling,
/// stopping, the statistics and the order of the steps.
/// </summary>
public sealed partial class GenerationRun : IDisposable
{
    private readonly CausalLm _model;
    private readonly GeneratorSettings _settings;
    private readonly TokenDecoder? _decoder;
    private readonly IReadOnlyList<GenerationJob> _jobs;
    private readonly Row[] _rows;
    private readonly HashSet<int> _eos;
    private readonly Sampler _sampler = new();
    private readonly OrtIoBinding? _binding;
    private readonly bool _compact;
    private readonly Stopwatch _prefillTimer = new();
    private readonly Stopwatch _decodeTimer = new();
    private readonly IKvLayout _layout;
    private readonly int _lengthLimit; // a row stops (ContextLength) once this many positions are cached
    private List<Row> _batch = [];   // rows in cache order
    private int _promptTokens;
    private int _prefillTokens;
    private int _steps;
    private bool _prefilled;
    private long _peakKvBytes;       // most KV bytes held at once (see KvWavePlanner)
    private long _peakLogitsBytes;   // largest logits tensor returned

    // Reused pinned input buffers.
    private long[] _ids = [];
    private long[] _mask = [];
    private long[] _positions = [];

    /// <summary>What a KV layout does for the run: prefill, one decode step, compaction, and freeing its cache.</summary>
    private interface IKvLayout : IDisposable
    {
        /// <summary>Cached positions at which a row stops with <see cref="FinishReason.ContextLength"/>.</summary>
        int LengthLimit { get; }

        /// <summary>
        /// Prefills <paramref name="prompts"/> (row r's is <c>prompts[ownerOf[r]]</c>) and then each row's suffix into
        /// the cache; sets every row's <see cref="Row.RealLength"/>; returns each row's logits for its first token.
        /// </summary>
        float[][] Prefill(IReadOnlyList<IReadOnlyList<int>> prompts, int[] ownerOf, CancellationToken cancellationToken);

        /// <summary>
        /// Feeds every batch row (an active row its next token, a finished one a pad), advances the active rows'
        /// <see cref="Row.RealLength"/>, and returns logits [B, 1, V] in batch order.
        /// </summary>
        Logits Step(CancellationToken cancellationToken);

        /// <summary>Some rows of the batch finished, some still run: drops finished rows from the batch and the cache when it pays.</summary>
        void DropFinished();

        /// <summary>Every row finished: frees the cache.</summary>
        void Release();
    }

    private sealed class Row
    {
        public required int Job;
        public required int Sample;
        public required SamplerRng Rng;
        public required IReadOnlyList<int> Suffix;
        public List<byte> Mask = [];      // per cached column: 1 real, 0 pad
        public int RealLength;            // real tokens cached = position id of the next one fed
        public readonly List<int> Generated = [];
        public StopStringMatcher? Stops;
        public FinishReason? Finished;
        public int NextToken;
    }

    internal GenerationRun(CausalLm model, GeneratorSettings settings, TokenDecoder? decoder, IReadOnlyList<GenerationJob> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        if (jobs.Count == 0)
        {
            throw new ArgumentException("At least one job is needed.", nameof(jobs));
        }
        _model = model;
        _settings = settings;
        _decoder = decoder;
        _jobs = jobs;
        _eos = [.. settings.EosTokenIds];
        var rows = new List<Row>();
        for (var j = 0; j < jobs.Count; j++)
        {
            var job = jobs[j];
            job.Sampling.Validate();
            if (job.PromptIds.Count == 0)
            {
                throw new ArgumentException($"Job {j} has an empty prompt.", nameof(jobs));
            }
            if (job.Samples.Count == 0)
            {
                throw new ArgumentException($"Job {j} asks for no samples.", nameof(jobs));
            }
            if (job.MaxNewTokens < 1)
            {
                throw new ArgumentException($"Job {j}: MaxNewTokens must be at least 1.", nameof(jobs));
            }
            if (job.StopStrings.Count > 0 && decoder is null)
            {
                throw new ArgumentException($"Job {j} has stop strings, but the generator has no token decoder.", nameof(jobs));
            }
            for (var s = 0; s < job.Samples.Count; s++)
            {
                var suffix = job.Samples[s].SuffixIds ?? [];
                if (job.PromptIds.Count + suffix.Count >= settings.ContextLength)
                {
                    throw new ArgumentException(
                        $"Job {j} sample {s}: prompt of {job.PromptIds.Count + suffix.Count} tokens leaves no room in the context of {settings.ContextLength}.", nameof(jobs));
                }
                rows.Add(new Row
                {
                    Job = j,
                    Sample = s,
                    Rng = new SamplerRng(job.Samples[s].Seed),
                    Suffix = suffix,
                    Stops = job.StopStrings.Count > 0 ? new StopStringMatcher(decoder!, job.StopStrings) : null,
                });
            }
        }
        _rows = [.. rows];
        var onDevice = model.DeviceMemory is not null;
        _layout = model.KvLayout == KvCacheLayout.SharedBuffer ? new SharedBufferKvLayout(this, jobs, onDevice) : new ConcatKvLayout(this);
        _lengthLimit = _layout.LengthLimit;
        _binding = model.Options.UseIoBinding || onDevice || _layout is SharedBufferKvLayout ? model.Session.CreateIoBinding() : null;
        // Row copies need the cache in host memory; with CUDA it stays on the device and rows are padded.
        _compact = model.Options.CompactFinishedRows && !onDevice;
    }

    public bool IsDone => _prefilled && _batch.Count == 0;

    /// <summary>Rows still generating.</summary>
    public int ActiveRows => _batch.Count(r => r.Finished is null);

    /// <summary>Prefills the prompts (and suffixes) and samples every row's first token.</summary>
    public void Prefill(CancellationToken cancellationToken)
    {
        if (_prefilled)
        {
            throw new InvalidOperationException("Prefill has already run.");
        }
        _prefillTimer.Start();
        // distinct prompts: one per job with prefix sharing (prefilled once, its KV copied to the job's rows), else one per row
        var owners = _settings.SharePrefix
            ? _rows.Select(r => r.Job).Distinct().Select(j => _rows.First(r => r.Job == j)).ToList()
            : [.. _rows];
        var prompts = owners.Select(r => _jobs[r.Job].PromptIds).ToList();
        var ownerOf = _rows.Select(r => _settings.SharePrefix ? owners.FindIndex(o => o.Job == r.Job) : Array.IndexOf(_rows, r)).ToArray();
        var firstLogits = _layout.Prefill(prompts, ownerOf, cancellationToken);
        _promptTokens = _rows.Sum(r => _jobs[r.Job].PromptIds.Count + r.Suffix.Count);
        _batch = [.. _rows];
        _prefillTimer.Stop();
        _prefilled = true;

        // first token of every row
        for (var r = 0; r < _rows.Length; r++)
        {
            Accept(_rows[r], SampleRow(_rows[r], firstLogits[r]));
        }
        DropFinishedRows();
    }

    /// <summary>One decode step for all active rows (input_ids [B, 1]).</summary>
    public void Step(CancellationToken cancellationToken)
    {
        if (!_prefilled)
        {
            throw new InvalidOperationException("Call Prefill first.");
        }
        if (IsDone)
        {
            return;
        }
        _decodeTimer.Start();
        using (var logits = _layout.Step(cancellationToken))
        {
            for (var i = 0; i < _batch.Count; i++)
            {
                var row = _batch[i];
                if (row.Finished is null)
                {
                    Accept(row, SampleRow(row, logits.Last(i, 1)));
                }
            }
        }
        _steps++;
        DropFinishedRows();
        _decodeTimer.Stop();
    }

    public GenerationResult GetResult()
    {
        var jobs = new List<GeneratedSample>[_jobs.Count];
        for (var j = 0; j < jobs.Length; j++)
        {
            jobs[j] = [];
        }
        foreach (var row in _rows)
        {
            jobs[row.Job].Add(new GeneratedSample(row.Job, row.Sample, [.. row.Generated], TextOf(row), row.Finished ?? FinishReason.MaxNewTokens));
        }
        var stats = new GenerationStats(
            _rows.Length, _promptTokens, _prefillTokens, _rows.Sum(r => r.Generated.Count), _steps, _prefillTimer.Elapsed, _decodeTimer.Elapsed)
        {
            PeakKvBytes = _peakKvBytes,
            PeakLogitsBytes = _peakLogitsBytes,
        };
        return new GenerationResult(jobs, stats);
    }

    private string? TextOf(Row row)
    {
        if (row.Stops is not null)
        {
            return row.Stops.Text;
        }
        if (_decoder is null)
        {
            return null;
        }
        var ids = CollectionsMarshal.AsSpan(row.Generated);
        if (row.Finished == FinishReason.Eos)
        {
            ids = ids[..^1];
        }
        return _decoder(ids);
    }

    private void NoteKv(long bytes) => _peakKvBytes = Math.Max(_peakKvBytes, bytes);

    private Logits NoteLogits(Logits logits)
    {
        _peakLogitsBytes = Math.Max(_peakLogitsBytes, logits.Bytes);
        return logits;
    }

    private int SampleRow(Row row, ReadOnlySpan<float> logits) =>
        _sampler.Sample(logits, _jobs[row.Job].Sampling, ref row.Rng);

    private void Accept(Row row, int token)
    {
        row.Generated.Add(token);
        row.NextToken = token;
        if (_eos.Contains(token))
        {
            row.Finished = FinishReason.Eos;
        }
        else if (row.Stops is not null && row.Stops.Append(token))
        {
            row.Finished = FinishReason.StopString;
        }
        else if (row.Generated.Count >= _jobs[row.Job].MaxNewTokens)
        {
            row.Finished = FinishReason.MaxNewTokens;
        }
        else if (row.RealLength >= _lengthLimit)
        {
            row.Finished = FinishReason.ContextLength;
        }
    }

    /// <summary>Removes finished rows: all of them when every row is done (the cache freed); otherwise as the layout compacts.</summary>
    private void DropFinishedRows()
    {
        if (_batch.All(r => r.Finished is not null))
        {
            _batch = [];
            _layout.Release();
            return;
        }
        _layout.DropFinished();
    }

    /// <summary>The rows of the batch still generating: their batch indices and the rows, in batch order.</summary>
    private (List<int> Keep, List<Row> Kept) RunningRows()
    {
        var keep = new List<int>();
        for (var i = 0; i < _batch.Count; i++)
        {
            if (_batch[i].Finished is null)
            {
                keep.Add(i);
            }
        }
        return (keep, [.. keep.Select(i => _batch[i])]);
    }

    private void EnsureCapacity(int tokens, int maskElements)
    {
        if (_ids.Length < tokens)
        {
            _ids = GC.AllocateArray<long>(Math.Max(tokens, _ids.Length * 2), pinned: true);
            _positions = GC.AllocateArray<long>(_ids.Length, pinned: true);
        }
        if (_mask.Length < maskElements)
        {
            _mask = GC.AllocateArray<long>(Math.Max(maskElements, _mask.Length * 2), pinned: true);
        }
    }

    public void Dispose()
    {
        _layout.Dispose();
        _binding?.Dispose();
    }
}
