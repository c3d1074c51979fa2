using System.Diagnostics;
using System.Runtime.InteropServices;
using GrmWorker.Inference.Runtime;
using Microsoft.ML.OnnxRuntime;
using GrmWorker.Inference.Sampling;

namespace GrmWorker.Inference.Generation;

/// <summary>
/// The state of one batched generation (llama2.c's generate loop, for B rows):
/// <list type="number">
/// <item>prefill: the distinct prompts, left-padded into one batch [J, Pmax] (J = jobs, or rows when
/// prefix sharing is off);</item>
/// <item>copy each prompt's KV to its k rows [R, H, Pmax, Dh]; prefill per-row suffixes as one more batch;</item>
/// <item>decode: one token per active row per step, input_ids [B, 1], attention_mask [B, L+1];
/// finished rows are dropped (their KV rows gathered away) or, with the cache on a device, padded.</item>
/// </list>
/// Pads get attention_mask 0 and rows' position ids count only their real tokens, so a padded row computes
/// what it would alone.
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
    private readonly bool _shared;   // shared-buffer KV layout (GroupQueryAttention, rows left-aligned)
    private readonly int _lengthLimit; // a row stops (ContextLength) once this many positions are cached
    private KvCache? _cache;
    private SharedKvCache? _kv;
    private SharedKvCache? _boundKv;  // the cache the binding holds as past/present (shared layout), if any
    private OrtValue? _stepLogits;    // [B, 1, V] logits of a shared-layout decode step, bound as the output
    private int _stepLogitsRows;
    private List<Row> _batch = [];   // rows in cache order
    private int _length;             // L: cached positions per batch row
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
        _shared = model.KvLayout == KvCacheLayout.SharedBuffer;
        _lengthLimit = settings.ContextLength;
        if (_shared)
        {
            if (onDevice)
            {
                throw new NotSupportedException(
                    "The shared-buffer KV layout keeps its buffers in host memory; on CUDA this engine runs the concat layout only (a device allocator for the buffers is not implemented).");
            }
            // one buffer length M for the whole run: the longest row's prompt + suffix + new tokens, within the limits
            var cap = Math.Min(model.KvMaxLength ?? settings.ContextLength, settings.ContextLength);
            var needed = _rows.Max(r => (long)jobs[r.Job].PromptIds.Count + r.Suffix.Count + jobs[r.Job].MaxNewTokens);
            _lengthLimit = (int)Math.Min(cap, needed);
            var longest = _rows.Max(r => jobs[r.Job].PromptIds.Count + r.Suffix.Count);
            if (longest >= cap)
            {
                throw new ArgumentException($"A prompt of {longest} tokens leaves no room in the KV buffer of {cap} positions (kvCache.maxLength / context length).", nameof(jobs));
            }
        }
        _binding = model.Options.UseIoBinding || onDevice || _shared ? model.Session.CreateIoBinding() : null;
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
        if (_shared)
        {
            PrefillShared(cancellationToken);
            return;
        }
        _prefillTimer.Start();

        // 1. distinct prompts, left-padded: input_ids [J, Pmax]
        var owners = _settings.SharePrefix
            ? _rows.Select(r => r.Job).Distinct().Select(j => _rows.First(r => r.Job == j)).ToList()
            : [.. _rows];
        var prompts = owners.Select(r => _jobs[r.Job].PromptIds).ToList();
        var pMax = prompts.Max(p => p.Count);
        var j = prompts.Count;
        EnsureCapacity(j * pMax, j * pMax);
        var promptMasks = new List<byte>[j];
        for (var i = 0; i < j; i++)
        {
            var prompt = prompts[i];
            var pad = pMax - prompt.Count;
            promptMasks[i] = [.. Enumerable.Repeat((byte)0, pad), .. Enumerable.Repeat((byte)1, prompt.Count)];
            for (var c = 0; c < pMax; c++)
            {
                var real = c >= pad;
                _ids[i * pMax + c] = real ? prompt[c - pad] : _settings.PadTokenId;
                _mask[i * pMax + c] = real ? 1 : 0;
                _positions[i * pMax + c] = real ? c - pad : 1;
            }
            _promptTokens += prompt.Count;
        }
        _prefillTokens += j * pMax;
        _cache = KvCache.Empty(_model, j);
        float[] promptLogits;
        using (var logits = Forward(j, pMax, pMax, presentOnDevice: false, cancellationToken))
        {
            promptLogits = LastPositionLogits(logits, j, pMax);
        }
        _length = pMax;

        // 2. copy each prompt's KV to its rows: [J, H, Pmax, Dh] -> [R, H, Pmax, Dh]
        var ownerOf = _rows.Select(r => _settings.SharePrefix ? owners.FindIndex(o => o.Job == r.Job) : Array.IndexOf(_rows, r)).ToArray();
        if (!ownerOf.SequenceEqual(Enumerable.Range(0, j)))
        {
            var expanded = _cache.Gather(ownerOf, pMax);
            NoteKv(_cache.Bytes + expanded.Bytes);
            _cache.Dispose();
            _cache = expanded;
        }
        for (var r = 0; r < _rows.Length; r++)
        {
            _rows[r].Mask = [.. promptMasks[ownerOf[r]]];
            _rows[r].RealLength = prompts[ownerOf[r]].Count;
        }
        if (_settings.SharePrefix)
        {
            _promptTokens = _rows.Sum(r => _jobs[r.Job].PromptIds.Count);
        }
        _batch = [.. _rows];
        var vocab = _model.VocabSize;
        var firstLogits = new float[_rows.Length][];
        for (var r = 0; r < _rows.Length; r++)
        {
            firstLogits[r] = promptLogits.AsSpan(ownerOf[r] * vocab, vocab).ToArray();
        }

        // 3. per-row suffixes, left-padded within their block: input_ids [R, Smax] after the prompt KV
        var sMax = _rows.Max(r => r.Suffix.Count);
        if (sMax > 0)
        {
            var rowsCount = _rows.Length;
            var total = _length + sMax;
            EnsureCapacity(rowsCount * sMax, rowsCount * total);
            for (var r = 0; r < rowsCount; r++)
            {
                var row = _rows[r];
                var pad = sMax - row.Suffix.Count;
                for (var c = 0; c < sMax; c++)
                {
                    var real = c >= pad;
                    _ids[r * sMax + c] = real ? row.Suffix[c - pad] : _settings.PadTokenId;
                    _positions[r * sMax + c] = real ? row.RealLength + c - pad : 1;
                    row.Mask.Add(real ? (byte)1 : (byte)0);
                }
                for (var c = 0; c < total; c++)
                {
                    _mask[r * total + c] = row.Mask[c];
                }
                row.RealLength += row.Suffix.Count;
                _promptTokens += row.Suffix.Count;
            }
            _prefillTokens += rowsCount * sMax;
            using var logits = Forward(rowsCount, sMax, total, presentOnDevice: true, cancellationToken);
            var suffixLogits = LastPositionLogits(logits, rowsCount, sMax);
            for (var r = 0; r < rowsCount; r++)
            {
                if (_rows[r].Suffix.Count > 0)
                {
                    firstLogits[r] = suffixLogits.AsSpan(r * vocab, vocab).ToArray();
                }
            }
            _length = total;
        }
        _prefillTimer.Stop();
        _prefilled = true;

        // 4. first token of every row
        for (var r = 0; r < _rows.Length; r++)
        {
            Accept(_rows[r], SampleRow(_rows[r], firstLogits[r]));
        }
        DropFinishedRows();
    }

    /// <summary>One decode step for all active rows: input_ids [B, 1], attention_mask [B, L+1], position_ids [B, 1].</summary>
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
        if (_shared)
        {
            StepShared(cancellationToken);
            return;
        }
        _decodeTimer.Start();
        var b = _batch.Count;
        var total = _length + 1;
        EnsureCapacity(b, b * total);
        for (var i = 0; i < b; i++)
        {
            var row = _batch[i];
            var active = row.Finished is null;
            _ids[i] = active ? row.NextToken : _settings.PadTokenId;
            _positions[i] = active ? row.RealLength : 1;
            row.Mask.Add(active ? (byte)1 : (byte)0);
            var mask = _mask.AsSpan(i * total, total);
            for (var c = 0; c < total; c++)
            {
                mask[c] = row.Mask[c];
            }
            if (active)
            {
                row.RealLength++;
            }
        }
        using (var logits = Forward(b, 1, total, presentOnDevice: true, cancellationToken))
        {
            _length = total;
            for (var i = 0; i < b; i++)
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

    private Logits Forward(int batch, int seq, int total, bool presentOnDevice, CancellationToken cancellationToken)
    {
        using var ids = OrtTensors.Over(_ids.AsMemory(0, batch * seq), batch, seq);
        using var mask = OrtTensors.Over(_mask.AsMemory(0, batch * total), batch, total);
        using var positions = _model.HasPositionIds ? OrtTensors.Over(_positions.AsMemory(0, batch * seq), batch, seq) : null;
        var past = _cache!.Bytes;
        var logits = _model.Forward(batch, total, ids, mask, positions, _cache, _binding, presentOnDevice, cancellationToken);
        NoteKv(past + _cache.Bytes); // past and present both live during the pass
        return NoteLogits(logits);
    }

    private void NoteKv(long bytes) => _peakKvBytes = Math.Max(_peakKvBytes, bytes);

    private Logits NoteLogits(Logits logits)
    {
        _peakLogitsBytes = Math.Max(_peakLogitsBytes, logits.Bytes);
        return logits;
    }

    /// <summary>logits [B, S, V] -> the last position of each row, copied as float [B * V].</summary>
    private static float[] LastPositionLogits(Logits logits, int batch, int seq)
    {
        var vocab = logits.Vocab;
        var result = new float[batch * vocab];
        for (var b = 0; b < batch; b++)
        {
            logits.Last(b, seq).CopyTo(result.AsSpan(b * vocab, vocab));
        }
        return result;
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

    /// <summary>
    /// Removes finished rows: all of them when every row is done; otherwise, when compacting, gathers the KV
    /// of the rows still running ([B, H, L, Dh] -> [B', H, L', Dh], dropping pad columns no row needs).
    /// </summary>
    private void DropFinishedRows()
    {
        if (_batch.All(r => r.Finished is not null))
        {
            _batch = [];
            _cache?.Dispose();
            _cache = null;
            _kv?.Dispose();
            _kv = null;
            return;
        }
        if (_shared)
        {
            CompactShared();
            return;
        }
        if (!_compact || _batch.All(r => r.Finished is null))
        {
            return;
        }
        var keep = new List<int>();
        for (var i = 0; i < _batch.Count; i++)
        {
            if (_batch[i].Finished is null)
            {
                keep.Add(i);
            }
        }
        var kept = keep.Select(i => _batch[i]).ToList();
        var trim = kept.Min(r => r.Mask.IndexOf(1));
        var newLength = _length - trim;
        var gathered = _cache!.Gather(CollectionsMarshal.AsSpan(keep), newLength);
        NoteKv(_cache.Bytes + gathered.Bytes);
        _cache.Dispose();
        _cache = gathered;
        foreach (var row in kept)
        {
            row.Mask.RemoveRange(0, trim);
        }
        _length = newLength;
        _batch = kept;
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
        _cache?.Dispose();
        _cache = null;
        _kv?.Dispose();
        _kv = null;
        _stepLogits?.Dispose();
        _stepLogits = null;
        _binding?.Dispose();
    }
}
