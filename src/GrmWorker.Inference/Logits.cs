using GrmWorker.Inference.Runtime;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace GrmWorker.Inference;

/// <summary>
/// A forward pass's logits in host memory, [B, S, V] (or [B, 1, V] for exports that return only each row's
/// last position), fp32 or fp16. Owns the OrtValue; rows are read as float.
/// </summary>
internal sealed unsafe class Logits : IDisposable
{
    private readonly OrtValue _value;
    private readonly nint _data;     // host memory ORT owns, valid while _value lives
    private readonly TensorElementType _type;
    private readonly bool _owned;
    private float[] _converted = [];

    /// <summary>Over <paramref name="value"/>; disposing releases it when <paramref name="owned"/> (else its owner keeps it).</summary>
    public Logits(OrtValue value, TensorElementType type, bool owned = true)
    {
        _value = value;
        _type = type;
        _owned = owned;
        var shape = value.Shape();
        if (shape.Length != 3)
        {
            if (owned)
            {
                value.Dispose();
            }

            throw new InvalidOperationException($"The model returned logits of rank {shape.Length}; [batch, seq, vocab] was expected.");
        }
        Positions = (int)shape[1];
        Vocab = (int)shape[2];
        Bytes = shape[0] * shape[1] * shape[2] * OrtTensors.SizeOf(type);
        _data = value.Address();
    }

    /// <summary>S: positions per row the model returned.</summary>
    public int Positions { get; }

    public int Vocab { get; }

    /// <summary>Bytes of the tensor: [B, S, V] x element size.</summary>
    public long Bytes { get; }

    /// <summary>
    /// Row b's logits at <paramref name="position"/> of <paramref name="seq"/> fed positions: a view (fp32) or a
    /// converted copy valid until the next call (fp16). An export with one position per row has just that one.
    /// </summary>
    public ReadOnlySpan<float> Row(int b, int seq, int position)
    {
        if (Positions != seq)
        {
            if (Positions != 1)
            {
                throw new InvalidOperationException($"The model returned logits for {Positions} positions; {seq} (all) or 1 (the last) were expected.");
            }
            seq = 1;
            position = 0;
        }
        var offset = ((b * seq) + position) * Vocab;
        if (_type != TensorElementType.Float16)
        {
            return new ReadOnlySpan<float>((float*)_data + offset, Vocab);
        }
        if (_converted.Length < Vocab)
        {
            _converted = new float[Vocab];
        }
        var src = new ReadOnlySpan<Half>((Half*)_data + offset, Vocab);
        for (var i = 0; i < Vocab; i++)
        {
            _converted[i] = (float)src[i];
        }
        return _converted.AsSpan(0, Vocab);
    }

    /// <summary>Row b's logits at its last fed position.</summary>
    public ReadOnlySpan<float> Last(int b, int seq) => Row(b, seq, seq - 1);

    public void Dispose()
    {
        if (_owned)
        {
            _value.Dispose();
        }
    }
}
