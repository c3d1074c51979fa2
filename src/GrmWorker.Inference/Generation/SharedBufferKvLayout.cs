using GrmWorker.Inference.Runtime;
using Microsoft.ML.OnnxRuntime;

namespace GrmWorker.Inference.Generation;

public sealed partial class GenerationRun
{
    /// <summary>
    /// The shared-buffer KV layout (GroupQueryAttention; <see cref="KvCacheLayout.SharedBuffer"/>): one
    /// [R, H, M, Dh] buffer per layer and kind for the whole run, bound as past and present, written in place.
    /// Each row's KV is left-aligned: row b's valid positions are 0..len_b-1, so attention_mask is
    /// ones for 0..len_b-1 (the model derives seqlens_k = sum - 1 and total_sequence_length = width from it),
    /// batched prompts are right-padded and a decode step writes row b's new token at slot len_b.
    /// </summary>
    private sealed class SharedBufferKvLayout : IKvLayout
    {
        private readonly GenerationRun _run;
        private SharedKvCache? _kv;
        private SharedKvCache? _boundKv;  // the cache the binding holds as past/present, if any
        private OrtValue? _stepLogits;    // [B, 1, V] logits of a decode step, bound as the output
        private int _stepLogitsRows;

        public SharedBufferKvLayout(GenerationRun run, IReadOnlyList<GenerationJob> jobs, bool onDevice)
        {
            _run = run;
            if (onDevice)
            {
                throw new NotSupportedException(
                    "The shared-buffer KV layout keeps its buffers in host memory; on CUDA this engine runs the concat layout only (a device allocator for the buffers is not implemented).");
            }
            // one buffer length M for the whole run: the longest row's prompt + suffix + new tokens, within the limits
            var cap = Math.Min(run._model.KvMaxLength ?? run._settings.ContextLength, run._settings.ContextLength);
            var needed = run._rows.Max(r => (long)jobs[r.Job].PromptIds.Count + r.Suffix.Count + jobs[r.Job].MaxNewTokens);
            LengthLimit = (int)Math.Min(cap, needed);
            var longest = run._rows.Max(r => jobs[r.Job].PromptIds.Count + r.Suffix.Count);
            if (longest >= cap)
            {
                throw new ArgumentException($"A prompt of {longest} tokens leaves no room in the KV buffer of {cap} positions (kvCache.maxLength / context length).", nameof(jobs));
            }
        }

        public int LengthLimit { get; }

        /// <summary>Prompts right-padded in one pass, KV copied to the k rows, suffixes row by row.</summary>
        public float[][] Prefill(IReadOnlyList<IReadOnlyList<int>> prompts, int[] ownerOf, CancellationToken cancellationToken)
        {
            var run = _run;
            var rows = run._rows;
            var model = run._model;
            // 1. distinct prompts, right-padded: input_ids [J, Pmax], mask 1 on 0..len-1
            var pMax = prompts.Max(p => p.Count);
            var j = prompts.Count;
            run.EnsureCapacity(j * pMax, j * pMax);
            for (var i = 0; i < j; i++)
            {
                var prompt = prompts[i];
                for (var c = 0; c < pMax; c++)
                {
                    var real = c < prompt.Count;
                    run._ids[(i * pMax) + c] = real ? prompt[c] : run._settings.PadTokenId;
                    run._mask[(i * pMax) + c] = real ? 1 : 0;
                    run._positions[(i * pMax) + c] = real ? c : 0;
                }
            }
            run._prefillTokens += j * pMax;
            var direct = ownerOf.SequenceEqual(Enumerable.Range(0, j));
            var firstLogits = new float[rows.Length][];
            var promptKv = direct ? SharedKvCache.Allocate(model, j, LengthLimit) : SharedKvCache.Allocate(model, j, pMax);
            _boundKv = null; // ForwardShared binds everything anew
            try
            {
                using (var ids = OrtTensors.Over(run._ids.AsMemory(0, j * pMax), j, pMax))
                using (var mask = OrtTensors.Over(run._mask.AsMemory(0, j * pMax), j, pMax))
                using (var positions = model.HasPositionIds ? OrtTensors.Over(run._positions.AsMemory(0, j * pMax), j, pMax) : null)
                using (var logits = run.NoteLogits(model.ForwardShared(ids, mask, positions, promptKv.Keys, promptKv.Values, run._binding!, cancellationToken)))
                {
                    for (var r = 0; r < rows.Length; r++)
                    {
                        var owner = ownerOf[r];
                        firstLogits[r] = logits.Row(owner, pMax, prompts[owner].Count - 1).ToArray();
                    }
                }

                // 2. each row's copy of its prompt KV (prefix sharing: prefilled once, copied to the k rows)
                if (direct)
                {
                    _kv = promptKv;
                    promptKv = null;
                }
                else
                {
                    _kv = SharedKvCache.Allocate(model, rows.Length, LengthLimit);
                    run.NoteKv(_kv.Bytes + promptKv.Bytes);
                    _kv.CopyRowsFrom(promptKv, ownerOf, pMax);
                }
                run.NoteKv(_kv.Bytes);
            }
            finally
            {
                promptKv?.Dispose();
            }
            for (var r = 0; r < rows.Length; r++)
            {
                rows[r].RealLength = prompts[ownerOf[r]].Count;
            }

            // 3. per-row suffixes: one B = 1 pass per row over a view of its rows of the buffers
            // (ONNX Runtime's GroupQueryAttention takes S > 1 after a past only for batch 1)
            foreach (var (row, r) in rows.Select((row, r) => (row, r)))
            {
                var s = row.Suffix.Count;
                if (s == 0)
                {
                    continue;
                }
                var total = row.RealLength + s;
                run.EnsureCapacity(s, total);
                for (var c = 0; c < s; c++)
                {
                    run._ids[c] = row.Suffix[c];
                    run._positions[c] = row.RealLength + c;
                }
                run._mask.AsSpan(0, total).Fill(1);
                var (keys, values) = _kv!.RowViews(r);
                try
                {
                    using var ids = OrtTensors.Over(run._ids.AsMemory(0, s), 1, s);
                    using var mask = OrtTensors.Over(run._mask.AsMemory(0, total), 1, total);
                    using var positions = model.HasPositionIds ? OrtTensors.Over(run._positions.AsMemory(0, s), 1, s) : null;
                    _boundKv = null;
                    using var logits = run.NoteLogits(model.ForwardShared(ids, mask, positions, keys, values, run._binding!, cancellationToken));
                    firstLogits[r] = logits.Last(0, s).ToArray();
                }
                finally
                {
                    foreach (var t in keys.Concat(values))
                    {
                        t.Dispose();
                    }
                }
                row.RealLength = total;
                run._prefillTokens += s;
            }
            return firstLogits;
        }

        /// <summary>
        /// input_ids [B, 1], position_ids = len_b, attention_mask [B, W] with W = the longest row + 1; row b has ones on
        /// 0..len_b, so its new key/value go to slot len_b of its buffer row. A finished row still in the batch is fed a
        /// pad with ones on 0..len_b-1: it overwrites its own last slot, which nothing reads again.
        /// </summary>
        public Logits Step(CancellationToken cancellationToken)
        {
            var run = _run;
            var batch = run._batch;
            var b = batch.Count;
            var width = batch.Max(r => r.Finished is null ? r.RealLength + 1 : r.RealLength);
            run.EnsureCapacity(b, b * width);
            for (var i = 0; i < b; i++)
            {
                var row = batch[i];
                var active = row.Finished is null;
                var ones = active ? row.RealLength + 1 : row.RealLength;
                run._ids[i] = active ? row.NextToken : run._settings.PadTokenId;
                run._positions[i] = active ? row.RealLength : 0;
                var mask = run._mask.AsSpan(i * width, width);
                mask[..ones].Fill(1);
                mask[ones..].Clear();
            }
            if (_stepLogits is null || _stepLogitsRows != b)
            {
                // [B, 1, V] in host memory, bound as the logits output; reallocated only when the batch shrinks
                _stepLogits?.Dispose();
                _stepLogits = OrtTensors.Allocate(run._model.LogitsElementType, b, 1, run._model.VocabSize);
                _stepLogitsRows = b;
            }
            using (var ids = OrtTensors.Over(run._ids.AsMemory(0, b), b, 1))
            using (var maskTensor = OrtTensors.Over(run._mask.AsMemory(0, b * width), b, width))
            using (var positions = run._model.HasPositionIds ? OrtTensors.Over(run._positions.AsMemory(0, b), b, 1) : null)
            {
                run._model.StepShared(ids, maskTensor, positions, _kv!, rebindCache: !ReferenceEquals(_boundKv, _kv), _stepLogits, run._binding!, cancellationToken);
                _boundKv = _kv;
            }
            foreach (var row in batch)
            {
                if (row.Finished is null)
                {
                    row.RealLength++;
                }
            }
            return run.NoteLogits(new Logits(_stepLogits, run._model.LogitsElementType, owned: false));
        }

        /// <summary>
        /// Finished rows cost a pad token per step until dropped; dropping copies the running rows' KV into a
        /// smaller buffer. Done once a quarter of the batch has finished (and never on a device).
        /// </summary>
        public void DropFinished()
        {
            var batch = _run._batch;
            var finished = batch.Count(r => r.Finished is not null);
            if (!_run._compact || finished == 0 || finished * 4 < batch.Count)
            {
                return;
            }
            var (keep, kept) = _run.RunningRows();
            var compacted = SharedKvCache.Allocate(_run._model, kept.Count, _kv!.MaxLength);
            _run.NoteKv(_kv.Bytes + compacted.Bytes);
            try
            {
                compacted.CopyRowsFrom(_kv, keep.ToArray(), kept.Max(r => r.RealLength));
            }
            catch
            {
                compacted.Dispose();
                throw;
            }
            _kv.Dispose();
            _kv = compacted;
            _run._batch = kept;
        }

        /// <summary>Frees the buffers; the step's logits tensor stays until the run is disposed.</summary>
        public void Release()
        {
            _kv?.Dispose();
            _kv = null;
        }

        public void Dispose()
        {
            Release();
            _stepLogits?.Dispose();
            _stepLogits = null;
        }
    }
}
