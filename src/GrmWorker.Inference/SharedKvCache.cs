using GrmWorker.Inference.Runtime;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace GrmWorker.Inference;

/// <summary>
/// The shared-buffer KV layout's cache: per layer one key and one value buffer [B, H, M, Dh], allocated once
/// for the whole generation and bound both as past_key_values.N.* and as present.N.*, so that
/// GroupQueryAttention writes each step's new key/value in place (nothing is copied per step). Row b's valid
/// positions are 0..len_b-1 (left-aligned); what lies beyond is never read. Host memory only.
/// </summary>
internal sealed class SharedKvCache : IDisposable
{
    private readonly TensorElementType _type;
    private readonly int _heads;
    private readonly int _headDim;

    private SharedKvCache(OrtValue[] keys, OrtValue[] values, TensorElementType type, int heads, int headDim, int batch, int maxLength)
    {
        Keys = keys;
        Values = values;
        _type = type;
        _heads = heads;
        _headDim = headDim;
        BatchSize = batch;
        MaxLength = maxLength;
    }

    public OrtValue[] Keys { get; private set; }

    public OrtValue[] Values { get; private set; }

    public int BatchSize { get; }

    /// <summary>M: positions per row.</summary>
    public int MaxLength { get; }

    /// <summary>Bytes of the buffers: 2 x layers x B x H x M x Dh x element size.</summary>
    public long Bytes => 2L * Keys.Length * BatchSize * _heads * MaxLength * _headDim * OrtTensors.SizeOf(_type);

    private int PositionBytes => _headDim * OrtTensors.SizeOf(_type);

    /// <summary>Zero-filled buffers [batch, H, maxLength, Dh] for every layer.</summary>
    public static SharedKvCache Allocate(CausalLm model, int batch, int maxLength)
    {
        var keys = new OrtValue[model.NumLayers];
        var values = new OrtValue[model.NumLayers];
        try
        {
            for (var i = 0; i < model.NumLayers; i++)
            {
                keys[i] = OrtTensors.Allocate(model.KvElementType, batch, model.NumKvHeads, maxLength, model.HeadDim);
                keys[i].Bytes().Clear();
                values[i] = OrtTensors.Allocate(model.KvElementType, batch, model.NumKvHeads, maxLength, model.HeadDim);
                values[i].Bytes().Clear();
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
        return new SharedKvCache(keys, values, model.KvElementType, model.NumKvHeads, model.HeadDim, batch, maxLength);
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
            CopyRows(source.Keys[layer], source.MaxLength, Keys[layer], sourceRows, positions);
            CopyRows(source.Values[layer], source.MaxLength, Values[layer], sourceRows, positions);
        }
    }

    /// <summary>[1, H, M, Dh] views of row <paramref name="row"/> of every layer's buffers (no copy; dispose them before this cache).</summary>
    public (OrtValue[] Keys, OrtValue[] Values) RowViews(int row)
    {
        var keys = new OrtValue[Keys.Length];
        var values = new OrtValue[Keys.Length];
        var rowBytes = (long)_heads * MaxLength * PositionBytes;
        for (var i = 0; i < Keys.Length; i++)
        {
            keys[i] = OrtTensors.View(Keys[i].Address() + (nint)(row * rowBytes), _type, 1, _heads, MaxLength, _headDim);
            values[i] = OrtTensors.View(Values[i].Address() + (nint)(row * rowBytes), _type, 1, _heads, MaxLength, _headDim);
        }
        return (keys, values);
    }

    private void CopyRows(OrtValue source, int sourceLength, OrtValue target, ReadOnlySpan<int> sourceRows, int positions)
    {
        var srcPlane = sourceLength * PositionBytes; // one (row, head): [M, Dh]
        var dstPlane = MaxLength * PositionBytes;
        var count = positions * PositionBytes;
        var src = source.Bytes();
        var dst = target.Bytes();
        for (var r = 0; r < sourceRows.Length; r++)
        {
            for (var h = 0; h < _heads; h++)
            {
                src.Slice(((sourceRows[r] * _heads) + h) * srcPlane, count).CopyTo(dst.Slice(((r * _heads) + h) * dstPlane, count));
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
