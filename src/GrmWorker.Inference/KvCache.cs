using GrmWorker.Inference.Native;

namespace GrmWorker.Inference;

/// <summary>
/// Per-layer past keys and values, each [B, H, L, Dh], for B rows. After a forward pass it holds the
/// model's present outputs as they came (no copy). Rows can be gathered into a new cache: that is how a
/// prefilled prompt is copied to its k sample rows, and how finished rows are dropped.
/// </summary>
internal sealed class KvCache : IDisposable
{
    private KvCache(OrtTensor[] keys, OrtTensor[] values, int batch, int length, bool onDevice)
    {
        Keys = keys;
        Values = values;
        BatchSize = batch;
        Length = length;
        OnDevice = onDevice;
    }

    public OrtTensor[] Keys { get; private set; }

    public OrtTensor[] Values { get; private set; }

    public int BatchSize { get; private set; }

    /// <summary>L: positions cached per row (pads included).</summary>
    public int Length { get; private set; }

    /// <summary>True when the tensors live in device memory (CUDA with IoBinding): no row operations then.</summary>
    public bool OnDevice { get; private set; }

    public static KvCache Empty(CausalLm model, int batch)
    {
        var keys = new OrtTensor[model.NumLayers];
        var values = new OrtTensor[model.NumLayers];
        ReadOnlySpan<long> shape = [batch, model.NumKvHeads, 0, model.HeadDim];
        for (var i = 0; i < model.NumLayers; i++)
        {
            keys[i] = OrtTensor.Allocate(model.Session.Api, model.KvElementType, shape);
            values[i] = OrtTensor.Allocate(model.Session.Api, model.KvElementType, shape);
        }
        return new KvCache(keys, values, batch, 0, onDevice: false);
    }

    /// <summary>Takes ownership of present outputs (key, value interleaved by layer), releasing the old past.</summary>
    public void ReplaceWithPresent(ReadOnlySpan<OrtTensor> presents, bool onDevice)
    {
        if (presents.Length != 2 * Keys.Length)
        {
            throw new ArgumentException($"Expected {2 * Keys.Length} present tensors, got {presents.Length}.", nameof(presents));
        }
        DisposeTensors();
        for (var i = 0; i < Keys.Length; i++)
        {
            Keys[i] = presents[2 * i];
            Values[i] = presents[2 * i + 1];
        }
        BatchSize = (int)Keys[0].Shape[0];
        Length = (int)Keys[0].Shape[2];
        OnDevice = onDevice;
    }

    /// <summary>
    /// A new cache of <c>rows.Length</c> rows, row r a copy of this cache's row <c>rows[r]</c>, with
    /// <paramref name="newLength"/> positions aligned right (rows are left-padded): a longer length adds
    /// zero columns on the left, a shorter one drops the leftmost columns (they must be pads for every row).
    /// Host memory only.
    /// </summary>
    public KvCache Gather(ReadOnlySpan<int> rows, int newLength)
    {
        if (OnDevice)
        {
            throw new InvalidOperationException("The KV cache is in device memory; row copies need it on the host.");
        }
        var api = Keys[0].Api;
        var type = Keys[0].ElementType;
        var heads = (int)Keys[0].Shape[1];
        var headDim = (int)Keys[0].Shape[3];
        var elementSize = TensorElementTypes.SizeOf(type);
        var keep = Math.Min(Length, newLength);
        var rowBytes = headDim * elementSize; // one position
        var keys = new OrtTensor[Keys.Length];
        var values = new OrtTensor[Keys.Length];
        ReadOnlySpan<long> shape = [rows.Length, heads, newLength, headDim];
        try
        {
            for (var layer = 0; layer < Keys.Length; layer++)
            {
                keys[layer] = OrtTensor.Allocate(api, type, shape);
                values[layer] = OrtTensor.Allocate(api, type, shape);
                Copy(Keys[layer].AsBytes(), keys[layer].AsBytes(), rows);
                Copy(Values[layer].AsBytes(), values[layer].AsBytes(), rows);
            }
        }
        catch
        {
            foreach (var t in keys.Concat(values))
            {
                t?.Dispose();
            }
            throw;
        }
        return new KvCache(keys, values, rows.Length, newLength, onDevice: false);

        void Copy(Span<byte> source, Span<byte> target, ReadOnlySpan<int> rowMap)
        {
            var srcPlane = Length * rowBytes;    // one (row, head): [L, Dh]
            var dstPlane = newLength * rowBytes;
            var pad = (newLength - keep) * rowBytes;
            var skip = (Length - keep) * rowBytes;
            for (var r = 0; r < rowMap.Length; r++)
            {
                for (var h = 0; h < heads; h++)
                {
                    var dst = target.Slice((r * heads + h) * dstPlane, dstPlane);
                    dst[..pad].Clear();
                    source.Slice((rowMap[r] * heads + h) * srcPlane + skip, keep * rowBytes).CopyTo(dst[pad..]);
                }
            }
        }
    }

    private void DisposeTensors()
    {
        foreach (var t in Keys)
        {
            t?.Dispose();
        }
        foreach (var t in Values)
        {
            t?.Dispose();
        }
    }

    public void Dispose()
    {
        DisposeTensors();
        Keys = [];
        Values = [];
    }
}
