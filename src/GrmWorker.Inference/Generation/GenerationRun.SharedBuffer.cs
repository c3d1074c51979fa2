using GrmWorker.Inference.Runtime;

namespace GrmWorker.Inference.Generation;

/// <summary>
/// The shared-buffer KV layout (GroupQueryAttention; <see cref="KvCacheLayout.SharedBuffer"/>): one
/// [R, H, M, Dh] buffer per layer and kind for the whole run, bound as past and present, written in place.
/// Each row's KV is left-aligned: row b's valid positions are 0..len_b-1, so attention_mask is
/// ones for 0..len_b-1 (the model derives seqlens_k = sum - 1 and total_sequence_length = width from it),
/// batched prompts are right-padded and a decode step writes row b's new token at slot len_b.
/// </summary>
public sealed partial class GenerationRun
{
    /// <summary>Prompts right-padded in one pass, KV copied to the k rows, suffixes row by row; first token of every row.</summary>
    private void PrefillShared(CancellationToken cancellationToken)
    {
        _prefillTimer.Start();

        // 1. distinct prompts, right-padded: input_ids [J, Pmax], mask 1 on 0..len-1
        var owners = _settings.SharePrefix
            ? _rows.Select(r => r.Job).Distinct().Select(j => _rows.First(r => r.Job == j)).ToList()
            : [.. _rows];
        var prompts = owners.Select(r => _jobs[r.Job].PromptIds).ToList();
        var pMax = prompts.Max(p => p.Count);
        var j = prompts.Count;
        EnsureCapacity(j * pMax, j * pMax);
        for (var i = 0; i < j; i++)
        {
            var prompt = prompts[i];
            for (var c = 0; c < pMax; c++)
            {
                var real = c < prompt.Count;
                _ids[(i * pMax) + c] = real ? prompt[c] : _settings.PadTokenId;
                _mask[(i * pMax) + c] = real ? 1 : 0;
                _positions[(i * pMax) + c] = real ? c : 0;
            }
        }
        _prefillTokens += j * pMax;
        var ownerOf = _rows.Select(r => _settings.SharePrefix ? owners.FindIndex(o => o.Job == r.Job) : Array.IndexOf(_rows, r)).ToArray();
        var direct = ownerOf.SequenceEqual(Enumerable.Range(0, j));
        var firstLogits = new float[_rows.Length][];
        var promptKv = direct ? SharedKvCache.Allocate(_model, j, _lengthLimit) : SharedKvCache.Allocate(_model, j, pMax);
        _boundKv = null; // ForwardShared binds everything anew
        try
        {
            using (var ids = OrtTensors.Over(_ids.AsMemory(0, j * pMax), j, pMax))
            using (var mask = OrtTensors.Over(_mask.AsMemory(0, j * pMax), j, pMax))
            using (var positions = _model.HasPositionIds ? OrtTensors.Over(_positions.AsMemory(0, j * pMax), j, pMax) : null)
            using (var logits = NoteLogits(_model.ForwardShared(ids, mask, positions, promptKv.Keys, promptKv.Values, _binding!, cancellationToken)))
            {
                for (var r = 0; r < _rows.Length; r++)
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
                _kv = SharedKvCache.Allocate(_model, _rows.Length, _lengthLimit);
                NoteKv(_kv.Bytes + promptKv.Bytes);
                _kv.CopyRowsFrom(promptKv, ownerOf, pMax);
            }
            NoteKv(_kv.Bytes);
        }
        finally
        {
            promptKv?.Dispose();
        }
        for (var r = 0; r < _rows.Length; r++)
        {
            _rows[r].RealLength = prompts[ownerOf[r]].Count;
            _promptTokens += _rows[r].RealLength;
        }

        // 3. per-row suffixes: one B = 1 pass per row over a view of its rows of the buffers
        // (ONNX Runtime's GroupQueryAttention takes S > 1 after a past only for batch 1)
        foreach (var (row, r) in _rows.Select((row, r) => (row, r)))
        {
            var s = row.Suffix.Count;
            if (s == 0)
            {
                continue;
            }
            var total = row.RealLength + s;
            EnsureCapacity(s, total);
            for (var c = 0; c < s; c++)
            {
                _ids[c] = row.Suffix[c];
                _positions[c] = row.RealLength + c;
            }
            _mask.AsSpan(0, total).Fill(1);
            var (keys, values) = _kv!.RowViews(r);
            try
            {
                using var ids = OrtTensors.Over(_ids.AsMemory(0, s), 1, s);
                using var mask = OrtTensors.Over(_mask.AsMemory(0, total), 1, total);
                using var positions = _model.HasPositionIds ? OrtTensors.Over(_positions.AsMemory(0, s), 1, s) : null;
                _boundKv = null;
                using var logits = NoteLogits(_model.ForwardShared(ids, mask, positions, keys, values, _binding!, cancellationToken));
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
            _promptTokens += s;
            _prefillTokens += s;
        }
        _batch = [.. _rows];
        _prefillTimer.Stop();
        _prefilled = true;

        // 4. first token of every row
        for (var r = 0; r < _rows.Length; r++)
        {
            Accept(_rows[r], SampleRow(_rows[r], firstLogits[r]));
        }
        DropFinishedRows();
    }

    /// <summary>
    /// One decode step: input_ids [B, 1], position_ids = len_b, attention_mask [B, W] with W = the longest
    /// row + 1; row b has ones on 0..len_b, so its new key/value go to slot len_b of its buffer row. A finished
    /// row still in the batch is fed a pad with ones on 0..len_b-1: it overwrites its own last slot, which
    /// nothing reads again.
    /// </summary>
    private void StepShared(CancellationToken cancellationToken)
    {
        _decodeTimer.Start();
        var b = _batch.Count;
        var width = _batch.Max(r => r.Finished is null ? r.RealLength + 1 : r.RealLength);
        EnsureCapacity(b, b * width);
        for (var i = 0; i < b; i++)
        {
            var row = _batch[i];
            var active = row.Finished is null;
            var ones = active ? row.RealLength + 1 : row.RealLength;
            _ids[i] = active ? row.NextToken : _settings.PadTokenId;
            _positions[i] = active ? row.RealLength : 0;
            var mask = _mask.AsSpan(i * width, width);
            mask[..ones].Fill(1);
            mask[ones..].Clear();
        }
        if (_stepLogits is null || _stepLogitsRows != b)
        {
            // [B, 1, V] in host memory, bound as the logits output; reallocated only when the batch shrinks
            _stepLogits?.Dispose();
            _stepLogits = OrtTensors.Allocate(_model.LogitsElementType, b, 1, _model.VocabSize);
            _stepLogitsRows = b;
        }
        using (var ids = OrtTensors.Over(_ids.AsMemory(0, b), b, 1))
        using (var maskTensor = OrtTensors.Over(_mask.AsMemory(0, b * width), b, width))
        using (var positions = _model.HasPositionIds ? OrtTensors.Over(_positions.AsMemory(0, b), b, 1) : null)
        {
            _model.StepShared(ids, maskTensor, positions, _kv!, rebindCache: !ReferenceEquals(_boundKv, _kv), _stepLogits, _binding!, cancellationToken);
            _boundKv = _kv;
        }
        using (var logits = NoteLogits(new Logits(_stepLogits, _model.LogitsElementType, owned: false)))
        {
            for (var i = 0; i < b; i++)
            {
                var row = _batch[i];
                if (row.Finished is null)
                {
                    row.RealLength++;
                    Accept(row, SampleRow(row, logits.Last(i, 1)));
                }
            }
        }
        _steps++;
        DropFinishedRows();
        _decodeTimer.Stop();
    }

    /// <summary>
    /// Finished rows cost a pad token per step until dropped; dropping copies the running rows' KV into a
    /// smaller buffer. Done once a quarter of the batch has finished (and never on a device).
    /// </summary>
    private void CompactShared()
    {
        var finished = _batch.Count(r => r.Finished is not null);
        if (!_compact || finished == 0 || finished * 4 < _batch.Count)
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
        var compacted = SharedKvCache.Allocate(_model, kept.Count, _kv!.MaxLength);
        NoteKv(_kv.Bytes + compacted.Bytes);
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
        _batch = kept;
    }
}
