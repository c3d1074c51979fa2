using System.Buffers;
using System.Runtime.InteropServices;

namespace GrmWorker.Inference.Native;

/// <summary>
/// A tensor OrtValue: either over a host buffer we own (pinned for the value's lifetime) or allocated by
/// ONNX Runtime (a Run output, or <see cref="Allocate"/>). Shape and element type are read once.
/// </summary>
internal sealed unsafe class OrtTensor : IDisposable
{
    private MemoryHandle _pin;

    private OrtTensor(OrtApi api, OrtValueHandle handle, TensorElementType elementType, long[] shape, MemoryHandle pin)
    {
        Api = api;
        Handle = handle;
        ElementType = elementType;
        Shape = shape;
        _pin = pin;
        ElementCount = 1;
        foreach (var d in shape)
        {
            ElementCount *= d;
        }
    }

    public OrtApi Api { get; }

    public OrtValueHandle Handle { get; }

    public TensorElementType ElementType { get; }

    public IReadOnlyList<long> Shape { get; }

    public long ElementCount { get; }

    public long ByteCount => ElementCount * TensorElementTypes.SizeOf(ElementType);

    /// <summary>
    /// A tensor over <paramref name="data"/> without copying; the memory is pinned until disposal
    /// (cheap for arrays from <c>GC.AllocateArray(pinned: true)</c>). Length must match the shape.
    /// </summary>
    public static OrtTensor OverBuffer<T>(OrtEnvironment env, Memory<T> data, ReadOnlySpan<long> shape)
        where T : unmanaged
    {
        var api = env.Api;
        long count = 1;
        foreach (var d in shape)
        {
            count *= d;
        }
        if (count != data.Length)
        {
            throw new ArgumentException($"Buffer holds {data.Length} elements but shape [{string.Join(",", shape.ToArray())}] needs {count}.", nameof(data));
        }
        var type = TensorElementTypes.Of<T>();
        var pin = data.Pin();
        try
        {
            nint value;
            fixed (long* shapePtr = shape)
            {
                api.Check(api.CreateTensorWithDataAsOrtValue(
                    env.CpuMemory.Handle.DangerousGetHandle(), pin.Pointer, (nuint)(count * sizeof(T)),
                    shapePtr, (nuint)shape.Length, (int)type, &value));
            }
            return new OrtTensor(api, new OrtValueHandle(api, value), type, shape.ToArray(), pin);
        }
        catch
        {
            pin.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A tensor over host memory owned by someone else (e.g. one row of a larger ORT-allocated tensor), which
    /// must outlive this value. No copy.
    /// </summary>
    public static OrtTensor OverNative(OrtEnvironment env, nint data, TensorElementType type, ReadOnlySpan<long> shape)
    {
        var api = env.Api;
        long count = 1;
        foreach (var d in shape)
        {
            count *= d;
        }
        nint value;
        fixed (long* shapePtr = shape)
        {
            api.Check(api.CreateTensorWithDataAsOrtValue(
                env.CpuMemory.Handle.DangerousGetHandle(), (void*)data, (nuint)(count * TensorElementTypes.SizeOf(type)),
                shapePtr, (nuint)shape.Length, (int)type, &value));
        }
        return new OrtTensor(api, new OrtValueHandle(api, value), type, shape.ToArray(), default);
    }

    /// <summary>A tensor in memory ONNX Runtime allocates (default CPU allocator), uninitialised.</summary>
    public static OrtTensor Allocate(OrtApi api, TensorElementType type, ReadOnlySpan<long> shape)
    {
        nint value;
        fixed (long* shapePtr = shape)
        {
            api.Check(api.CreateTensorAsOrtValue(api.DefaultAllocator, shapePtr, (nuint)shape.Length, (int)type, &value));
        }
        return new OrtTensor(api, new OrtValueHandle(api, value), type, shape.ToArray(), default);
    }

    /// <summary>Takes ownership of an OrtValue* that ONNX Runtime returned (e.g. a Run output).</summary>
    public static OrtTensor TakeOwnership(OrtApi api, nint value)
    {
        var handle = new OrtValueHandle(api, value);
        try
        {
            nint info;
            api.Check(api.GetTensorTypeAndShape(value, &info));
            using var infoHandle = new OrtTensorTypeAndShapeInfoHandle(api, info);
            var (type, shape) = ReadTypeAndShape(api, info);
            return new OrtTensor(api, handle, type, shape, default);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Asks ONNX Runtime for the value's element type and shape (the properties hold what we created).</summary>
    internal (TensorElementType Type, long[] Shape) QueryTypeAndShape()
    {
        nint info;
        Api.Check(Api.GetTensorTypeAndShape(Handle.DangerousGetHandle(), &info));
        using var infoHandle = new OrtTensorTypeAndShapeInfoHandle(Api, info);
        return ReadTypeAndShape(Api, info);
    }

    internal static (TensorElementType Type, long[] Shape) ReadTypeAndShape(OrtApi api, nint tensorTypeAndShapeInfo)
    {
        int type;
        api.Check(api.GetTensorElementType(tensorTypeAndShapeInfo, &type));
        nuint rank;
        api.Check(api.GetDimensionsCount(tensorTypeAndShapeInfo, &rank));
        var shape = new long[(int)rank];
        fixed (long* dims = shape)
        {
            api.Check(api.GetDimensions(tensorTypeAndShapeInfo, dims, rank));
        }
        return ((TensorElementType)type, shape);
    }

    /// <summary>Address of the first element (host or device memory, depending on where it lives).</summary>
    public nint DataPointer
    {
        get
        {
            void* data;
            Api.Check(Api.GetTensorMutableData(Handle.DangerousGetHandle(), &data));
            return (nint)data;
        }
    }

    /// <summary>The elements, for a tensor in host memory.</summary>
    public Span<T> AsSpan<T>()
        where T : unmanaged
    {
        if (TensorElementTypes.Of<T>() != ElementType)
        {
            throw new InvalidOperationException($"Tensor holds {ElementType}, not {typeof(T).Name}.");
        }
        return new Span<T>((void*)DataPointer, checked((int)ElementCount));
    }

    /// <summary>The raw bytes, for a tensor in host memory.</summary>
    public Span<byte> AsBytes() => new((void*)DataPointer, checked((int)ByteCount));

    public void Dispose()
    {
        Handle.Dispose();
        _pin.Dispose();
        _pin = default;
    }
}
