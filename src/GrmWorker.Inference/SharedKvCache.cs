using GrmWorker.Inference.Native;

namespace GrmWorker.Inference;

/// <summary>
/// The shared-buffer KV layout's cache: per layer one key and one value buffer [B, H, M, Dh], allocated once
/// for the whole generation and bound both as past_key_values.N.* and as present.N.*, so that
/// GroupQueryAttention writes each step's new key/value in place (nothing is copied per step). Row b's valid
/// positions are 0..len_b-1 (left-aligned); what lies beyond is never read. Host memory only.
/// </summary>
internal sealed class SharedKvCache : IDisposable
{
    private SharedKvCache(OrtTensor[] keys, OrtTensor[] values, int batch, int maxLength)
    {
        Keys = keys;
        Values = values;
        BatchSize = batch;
        MaxLength = maxLength;
    }

    public OrtTensor[] Keys { get; private set; }

    public OrtTensor[] Values { get; private set; }

    public int BatchSize { get; }

    /// <summary>M: positions per row.</summary>
    public int MaxLength { get; }

    /// <summary>Zero-filled buffers [batch, H, maxLength, Dh] for every layer.</summary>
    public static SharedKvCache Allocate(CausalLm model, int batch, int maxLength)
    {
        var api = model.Session.Api;
        var keys = new OrtTensor[model.NumLayers];
        var values = new OrtTensor[model.NumLayers];
        ReadOnlySpan<long> shape = [batch, model.NumKvHeads, maxLength, model.HeadDim];
        try
        {
            for (var i = 0; i < model.NumLayers; i++)
            {
                keys[i] = OrtTensor.Allocate(api, model.KvElementType, shape);
                keys[i].AsBytes().Clear();
                values[i] = OrtTensor.Allocate(api, model.KvElementType, shape);
                values[i].AsBytes().Clear();
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
        return new SharedKvCache(keys, values, batch, maxLength);
    }

    /// <summary>
    /// Copies the first <paramref name="positions"/> positions of <paramref name="source"/>'s row
    /// <c>sourceRows[r]</c> into this cache's row r, for every layer (prompt KV to its k sample rows, or the
    /// rows still running into a smaller cache).
    /// </summary>
    public void CopyRowsFrom(SharedKvCache source, ReadOnlySpan<int> sourceRows, int positions)
    {
        if (sourceRows.Length > BatchSize || positions > MaxLength || positions > source.MaxLength)
        {
            throw new ArgumentException($"Cannot copy {sourceRows.Length} rows x {positions} positions into a cache of {BatchSize} x {MaxLength}.");
        }
        for (var layer = 0; layer < Keys.Length; layer++)
        {
            CopyRows(source.Keys[layer], Keys[layer], sourceRows, positions);
            CopyRows(source.Values[layer], Values[layer], sourceRows, positions);
        }
    }

    /// <summary>[1, H, M, Dh] views of row <paramref name="row"/> of every layer's buffers (no copy; dispose them before this cache).</summary>
    public (OrtTensor[] Keys, OrtTensor[] Values) RowViews(OrtEnvironment env, int row)
    {
        var keys = new OrtTensor[Keys.Length];
        var values = new OrtTensor[Keys.Length];
        for (var i = 0; i < Keys.Length; i++)
        {
            keys[i] = View(Keys[i]);
            values[i] = View(Values[i]);
        }
        return (keys, values);

        OrtTensor View(OrtTensor buffer)
        {
            var shape = buffer.Shape;
            var rowBytes = buffer.ByteCount / shape[0];
            return OrtTensor.OverNative(env, buffer.DataPointer + (nint)(row * rowBytes), buffer.ElementType, [1, shape[1], shape[2], shape[3]]);
        }
    }

    private static void CopyRows(OrtTensor source, OrtTensor target, ReadOnlySpan<int> sourceRows, int positions)
    {
        var heads = (int)source.Shape[1];
        var positionBytes = (int)(source.ByteCount / (source.Shape[0] * source.Shape[1] * source.Shape[2]));
        var srcPlane = (int)source.Shape[2] * positionBytes; // one (row, head): [M, Dh]
        var dstPlane = (int)target.Shape[2] * positionBytes;
        var count = positions * positionBytes;
        var src = source.AsBytes();
        var dst = target.AsBytes();
        for (var r = 0; r < sourceRows.Length; r++)
        {
            for (var h = 0; h < heads; h++)
            {
                src.Slice(((sourceRows[r] * heads) + h) * srcPlane, count).CopyTo(dst.Slice(((r * heads) + h) * dstPlane, count));
            }
        }
    }

    public void Dispose()
    {
        foreach (var t in Keys.Concat(Values))
        {
            t.Dispose();
        }
        Keys = [];
        Values = [];
    }
}
