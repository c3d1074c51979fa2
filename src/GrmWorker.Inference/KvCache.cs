using GrmWorker.Inference.Runtime;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace GrmWorker.Inference;

/// <summary>
/// The concat layout's cache: per-layer past keys and values, each [B, H, L, Dh], for B rows. After a forward
/// pass it holds the model's present outputs as they came (no copy). Rows can be gathered into a new cache: that
/// is how a prefilled prompt is copied to its k sample rows, and how finished rows are dropped.
/// </summary>
internal sealed class KvCache : IDisposable
{
    private readonly TensorElementType _type;
    private readonly int _heads;
    private readonly int _headDim;

    private KvCache(OrtValue[] keys, OrtValue[] values, TensorElementType type, int heads, int headDim, int batch, int length, bool onDevice)
    {
        Keys = keys;
        Values = values;
        _type = type;
        _heads = heads;
        _headDim = headDim;
        BatchSize = batch;
        Length = length;
        OnDevice = onDevice;
    }

    public OrtValue[] Keys { get; private set; }

    public OrtValue[] Values { get; private set; }

    public int BatchSize { get; private set; }

    /// <summary>L: positions cached per row (pads included).</summary>
    public int Length { get; private set; }

    /// <summary>True when the tensors live in device memory (CUDA with IoBinding): no row operations then.</summary>
    public bool OnDevice { get; private set; }

    /// <summary>Bytes the keys and values hold now: 2 x layers x B x H x L x Dh x element size.</summary>
    public long Bytes => 2L * Keys.Length * BatchSize * _heads * Length * _headDim * OrtTensors.SizeOf(_type);

    public static KvCache Empty(CausalLm model, int batch)
    {
        var keys = new OrtValue[model.NumLayers];
        var values = new OrtValue[model.NumLayers];
        for (var i = 0; i < model.NumLayers; i++)
        {
            keys[i] = OrtTensors.Allocate(model.KvElementType, batch, model.NumKvHeads, 0, model.HeadDim);
            values[i] = OrtTensors.Allocate(model.KvElementType, batch, model.NumKvHeads, 0, model.HeadDim);
        }
        return new KvCache(keys, values, model.KvElementType, model.NumKvHeads, model.HeadDim, batch, 0, onDevice: false);
    }

    /// <summary>Takes ownership of present outputs [batch, H, length, Dh] (key, value interleaved by layer), releasing the old past.</summary>
    public void ReplaceWithPresent(ReadOnlySpan<OrtValue> presents, int batch, int length, bool onDevice)
    {
        if (presents.Length != 2 * Keys.Length)
        {
            throw new ArgumentException($"Expected {2 * Keys.Length} present tensors, got {presents.Length}.", nameof(presents));
        }
        DisposeTensors();
        for (var i = 0; i < Keys.Length; i++)
        {
            Keys[i] = presents[2 * i];
            Values[i] = presents[(2 * i) + 1];
        }
        BatchSize = batch;
        Length = length;
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
        var keys = new OrtValue[Keys.Length];
        var values = new OrtValue[Keys.Length];
        try
        {
            for (var layer = 0; layer < Keys.Length; layer++)
            {
                keys[layer] = OrtTensors.Allocate(_type, rows.Length, _heads, newLength, _headDim);
                values[layer] = OrtTensors.Allocate(_type, rows.Length, _heads, newLength, _headDim);
                Copy(Keys[layer].Bytes(), keys[layer].Bytes(), rows, newLength);
                Copy(Values[layer].Bytes(), values[layer].Bytes(), rows, newLength);
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
        return new KvCache(keys, values, _type, _heads, _headDim, rows.Length, newLength, onDevice: false);
    }

    /// <summary>[rows, H, L, Dh] -> [rowMap.Length, H, newLength, Dh], right-aligned.</summary>
    private void Copy(Span<byte> source, Span<byte> target, ReadOnlySpan<int> rowMap, int newLength)
    {
        var keep = Math.Min(Length, newLength);
        var positionBytes = _headDim * OrtTensors.SizeOf(_type);
        var srcPlane = Length * positionBytes;    // one (row, head): [L, Dh]
        var dstPlane = newLength * positionBytes;
        var pad = (newLength - keep) * positionBytes;
        var skip = (Length - keep) * positionBytes;
        for (var r = 0; r < rowMap.Length; r++)
        {
            for (var h = 0; h < _heads; h++)
            {
                var dst = target.Slice(((r * _heads) + h) * dstPlane, dstPlane);
                dst[..pad].Clear();
                source.Slice((((rowMap[r] * _heads) + h) * srcPlane) + skip, keep * positionBytes).CopyTo(dst[pad..]);
            }
        }
    }

    private void DisposeTensors()
    {
        foreach (var t in Keys.Concat(Values))
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
