using System.Runtime.InteropServices;
using GrmWorker.Inference.Runtime;

namespace GrmWorker.Inference.Generation;

public sealed partial class GenerationRun
{
    /// <summary>
    /// The concat KV layout (<see cref="KvCacheLayout.Concat"/>): past_key_values in, present out, [B, H, L, Dh] per
    /// layer and kind. Rows are left-padded to the same length L: pads get attention_mask 0 and a row's position ids
    /// count only its real tokens, so a padded row computes what it would alone. A decode step feeds input_ids [B, 1],
    /// attention_mask [B, L+1], position_ids [B, 1]; finished rows are gathered away (or, with the cache on a device, padded).
    /// </summary>
    private sealed class ConcatKvLayout(GenerationRun run) : IKvLayout
    {
        private KvCache? _cache;
        private int _length; // L: cached positions per batch row

        public int LengthLimit => run._settings.ContextLength;

        /// <summary>Prompts left-padded in one pass [J, Pmax], KV copied to the rows, suffixes as one more batch [R, Smax].</summary>
        public float[][] Prefill(IReadOnlyList<IReadOnlyList<int>> prompts, int[] ownerOf, CancellationToken cancellationToken)
        {
            var rows = run._rows;
            // 1. distinct prompts, left-padded: input_ids [J, Pmax]
            var pMax = prompts.Max(p => p.Count);
            var j = prompts.Count;
            run.EnsureCapacity(j * pMax, j * pMax);
            var promptMasks = new List<byte>[j];
            for (var i = 0; i < j; i++)
            {
                var prompt = prompts[i];
                var pad = pMax - prompt.Count;
                promptMasks[i] = [.. Enumerable.Repeat((byte)0, pad), .. Enumerable.Repeat((byte)1, prompt.Count)];
                for (var c = 0; c < pMax; c++)
                {
                    var real = c >= pad;
                    run._ids[i * pMax + c] = real ? prompt[c - pad] : run._settings.PadTokenId;
                    run._mask[i * pMax + c] = real ? 1 : 0;
                    run._positions[i * pMax + c] = real ? c - pad : 1;
                }
            }
            run._prefillTokens += j * pMax;
            _cache = KvCache.Empty(run._model, j);
            float[] promptLogits;
            using (var logits = Forward(j, pMax, pMax, presentOnDevice: false, cancellationToken))
            {
                promptLogits = LastPositionLogits(logits, j, pMax);
            }
            _length = pMax;

            // 2. copy each prompt's KV to its rows: [J, H, Pmax, Dh] -> [R, H, Pmax, Dh]
            if (!ownerOf.SequenceEqual(Enumerable.Range(0, j)))
            {
                var expanded = _cache.Gather(ownerOf, pMax);
                run.NoteKv(_cache.Bytes + expanded.Bytes);
                _cache.Dispose();
                _cache = expanded;
            }
            for (var r = 0; r < rows.Length; r++)
            {
                rows[r].Mask = [.. promptMasks[ownerOf[r]]];
                rows[r].RealLength = prompts[ownerOf[r]].Count;
            }
            var vocab = run._model.VocabSize;
            var firstLogits = new float[rows.Length][];
            for (var r = 0; r < rows.Length; r++)
            {
                firstLogits[r] = promptLogits.AsSpan(ownerOf[r] * vocab, vocab).ToArray();
            }

            // 3. per-row suffixes, left-padded within their block: input_ids [R, Smax] after the prompt KV
            var sMax = rows.Max(r => r.Suffix.Count);
            if (sMax > 0)
            {
                var rowsCount = rows.Length;
                var total = _length + sMax;
                run.EnsureCapacity(rowsCount * sMax, rowsCount * total);
                for (var r = 0; r < rowsCount; r++)
                {
                    var row = rows[r];
                    var pad = sMax - row.Suffix.Count;
                    for (var c = 0; c < sMax; c++)
                    {
                        var real = c >= pad;
                        run._ids[r * sMax + c] = real ? row.Suffix[c - pad] : run._settings.PadTokenId;
                        run._positions[r * sMax + c] = real ? row.RealLength + c - pad : 1;
                        row.Mask.Add(real ? (byte)1 : (byte)0);
                    }
                    for (var c = 0; c < total; c++)
                    {
                        run._mask[r * total + c] = row.Mask[c];
                    }
                    row.RealLength += row.Suffix.Count;
                }
                run._prefillTokens += rowsCount * sMax;
                using var logits = Forward(rowsCount, sMax, total, presentOnDevice: true, cancellationToken);
                var suffixLogits = LastPositionLogits(logits, rowsCount, sMax);
                for (var r = 0; r < rowsCount; r++)
                {
                    if (rows[r].Suffix.Count > 0)
                    {
                        firstLogits[r] = suffixLogits.AsSpan(r * vocab, vocab).ToArray();
                    }
                }
                _length = total;
            }
            return firstLogits;
        }

        /// <summary>input_ids [B, 1], attention_mask [B, L+1], position_ids [B, 1]; a finished row still in the batch gets a pad.</summary>
        public Logits Step(CancellationToken cancellationToken)
        {
            var batch = run._batch;
            var b = batch.Count;
            var total = _length + 1;
            run.EnsureCapacity(b, b * total);
            for (var i = 0; i < b; i++)
            {
                var row = batch[i];
                var active = row.Finished is null;
                run._ids[i] = active ? row.NextToken : run._settings.PadTokenId;
                run._positions[i] = active ? row.RealLength : 1;
                row.Mask.Add(active ? (byte)1 : (byte)0);
                var mask = run._mask.AsSpan(i * total, total);
                for (var c = 0; c < total; c++)
                {
                    mask[c] = row.Mask[c];
                }
                if (active)
                {
                    row.RealLength++;
                }
            }
            var logits = Forward(b, 1, total, presentOnDevice: true, cancellationToken);
            _length = total;
            return logits;
        }

        /// <summary>
        /// When compacting, gathers the KV of the rows still running ([B, H, L, Dh] -> [B', H, L', Dh], dropping
        /// pad columns no row needs).
        /// </summary>
        public void DropFinished()
        {
            var batch = run._batch;
            if (!run._compact || batch.All(r => r.Finished is null))
            {
                return;
            }
            var (keep, kept) = run.RunningRows();
            var trim = kept.Min(r => r.Mask.IndexOf(1));
            var newLength = _length - trim;
            var gathered = _cache!.Gather(CollectionsMarshal.AsSpan(keep), newLength);
            run.NoteKv(_cache.Bytes + gathered.Bytes);
            _cache.Dispose();
            _cache = gathered;
            foreach (var row in kept)
            {
                row.Mask.RemoveRange(0, trim);
            }
            _length = newLength;
            run._batch = kept;
        }

        public void Release() => Dispose();

        public void Dispose()
        {
            _cache?.Dispose();
            _cache = null;
        }

        private Logits Forward(int batch, int seq, int total, bool presentOnDevice, CancellationToken cancellationToken)
        {
            using var ids = OrtTensors.Over(run._ids.AsMemory(0, batch * seq), batch, seq);
            using var mask = OrtTensors.Over(run._mask.AsMemory(0, batch * total), batch, total);
            using var positions = run._model.HasPositionIds ? OrtTensors.Over(run._positions.AsMemory(0, batch * seq), batch, seq) : null;
            var past = _cache!.Bytes;
            var logits = run._model.Forward(batch, total, ids, mask, positions, _cache, run._binding, presentOnDevice, cancellationToken);
            run.NoteKv(past + _cache.Bytes); // past and present both live during the pass
            return run.NoteLogits(logits);
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
    }
}
