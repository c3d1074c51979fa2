using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace GrmWorker.Inference.Runtime;

/// <summary>Tensor OrtValues in host memory: over our buffers, allocated by ONNX Runtime, or views into another tensor.</summary>
internal static class OrtTensors
{
    /// <summary>A tensor over <paramref name="data"/> (pinned for the value's lifetime, no copy).</summary>
    public static OrtValue Over<T>(Memory<T> data, params long[] shape)
        where T : unmanaged =>
        OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, data, shape);

    /// <summary>An uninitialised tensor from ONNX Runtime's default CPU allocator.</summary>
    public static OrtValue Allocate(TensorElementType type, params long[] shape) =>
        OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, type, shape);

    /// <summary>A tensor over host memory someone else owns (which must outlive it).</summary>
    public static OrtValue View(nint data, TensorElementType type, params long[] shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            count *= d;
        }
        return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, shape, data, count * SizeOf(type));
    }

    /// <summary>The raw bytes of a host tensor.</summary>
    public static Span<byte> Bytes(this OrtValue value) => value.GetTensorMutableRawData();

    /// <summary>The elements of a host tensor as <typeparamref name="T"/> (no element-type check: the caller knows it).</summary>
    public static Span<T> Elements<T>(this OrtValue value)
        where T : unmanaged => MemoryMarshal.Cast<byte, T>(value.GetTensorMutableRawData());

    /// <summary>Address of the first element.</summary>
    public static unsafe nint Address(this OrtValue value)
    {
        fixed (byte* p = value.GetTensorMutableRawData())
        {
            return (nint)p;
        }
    }

    public static long[] Shape(this OrtValue value) => value.GetTensorTypeAndShape().Shape;

    public static int SizeOf(TensorElementType type) => type switch
    {
        TensorElementType.Float or TensorElementType.Int32 or TensorElementType.UInt32 => 4,
        TensorElementType.Float16 or TensorElementType.BFloat16 or TensorElementType.Int16 or TensorElementType.UInt16 => 2,
        TensorElementType.Int64 or TensorElementType.UInt64 or TensorElementType.Double => 8,
        TensorElementType.Int8 or TensorElementType.UInt8 or TensorElementType.Bool => 1,
        _ => throw new NotSupportedException($"Tensor element type {type} has no fixed size here."),
    };
}
