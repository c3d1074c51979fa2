using System.Runtime.InteropServices;
using System.Text;

namespace GrmWorker.Inference.Native;

/// <summary>One model input or output as the session describes it; -1 marks a symbolic dimension.</summary>
public sealed record OrtNodeInfo(string Name, TensorElementType ElementType, IReadOnlyList<long> Dimensions);

/// <summary>Which execution provider runs the model.</summary>
public enum ExecutionProviderKind
{
    Cpu,
    Cuda,
}

/// <summary>What a session is created with.</summary>
internal sealed record OrtSessionSettings
{
    public ExecutionProviderKind ExecutionProvider { get; init; } = ExecutionProviderKind.Cpu;
    public int CudaDeviceId { get; init; }
    public IReadOnlyDictionary<string, string> CudaProviderOptions { get; init; } = new Dictionary<string, string>();
    public int IntraOpThreads { get; init; }
    public int InterOpThreads { get; init; }
    public bool AllowSpinning { get; init; } = true;
}

/// <summary>An OrtSession with its input/output metadata and a UTF-8 name cache for Run.</summary>
internal sealed unsafe class OrtSession : IDisposable
{
    private readonly Dictionary<string, nint> _utf8Names = new(StringComparer.Ordinal);

    private OrtSession(OrtEnvironment env, OrtSessionHandle handle, string source)
    {
        Environment = env;
        Handle = handle;
        Source = source;
        Inputs = ReadNodes(isInput: true);
        Outputs = ReadNodes(isInput: false);
    }

    public OrtEnvironment Environment { get; }

    public OrtApi Api => Environment.Api;

    public OrtSessionHandle Handle { get; }

    /// <summary>The model path (or "(memory)"), for error messages.</summary>
    public string Source { get; }

    public IReadOnlyList<OrtNodeInfo> Inputs { get; }

    public IReadOnlyList<OrtNodeInfo> Outputs { get; }

    public static OrtSession Create(OrtEnvironment env, string modelPath, OrtSessionSettings settings)
    {
        if (!File.Exists(modelPath))
        {
            throw new FileNotFoundException($"ONNX model file not found: {modelPath}", modelPath);
        }
        var api = env.Api;
        using var options = CreateOptions(api, settings);
        var path = Encoding.UTF8.GetBytes(modelPath + "\0");
        nint session;
        fixed (byte* p = path)
        {
            api.Check(api.CreateSession(env.Handle.DangerousGetHandle(), p, options.DangerousGetHandle(), &session));
        }
        return WithMetadata(env, new OrtSessionHandle(api, session), modelPath);
    }

    public static OrtSession Create(OrtEnvironment env, ReadOnlySpan<byte> model, OrtSessionSettings settings)
    {
        var api = env.Api;
        using var options = CreateOptions(api, settings);
        nint session;
        fixed (byte* p = model)
        {
            api.Check(api.CreateSessionFromArray(env.Handle.DangerousGetHandle(), p, (nuint)model.Length, options.DangerousGetHandle(), &session));
        }
        return WithMetadata(env, new OrtSessionHandle(api, session), "(memory)");
    }

    /// <summary>Reads the input/output metadata; the session is released at once when that fails.</summary>
    private static OrtSession WithMetadata(OrtEnvironment env, OrtSessionHandle handle, string source)
    {
        try
        {
            return new OrtSession(env, handle, source);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static OrtSessionOptionsHandle CreateOptions(OrtApi api, OrtSessionSettings settings)
    {
        nint raw;
        api.Check(api.CreateSessionOptions(&raw));
        var options = new OrtSessionOptionsHandle(api, raw);
        try
        {
            api.Check(api.SetSessionGraphOptimizationLevel(raw, 99)); // ORT_ENABLE_ALL
            if (settings.IntraOpThreads > 0)
            {
                api.Check(api.SetIntraOpNumThreads(raw, settings.IntraOpThreads));
            }
            if (settings.InterOpThreads > 0)
            {
                api.Check(api.SetInterOpNumThreads(raw, settings.InterOpThreads));
            }
            if (!settings.AllowSpinning)
            {
                AddConfigEntry(api, raw, "session.intra_op.allow_spinning", "0");
                AddConfigEntry(api, raw, "session.inter_op.allow_spinning", "0");
            }
            if (settings.ExecutionProvider == ExecutionProviderKind.Cuda)
            {
                AppendCuda(api, raw, settings);
            }
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    private static void AddConfigEntry(OrtApi api, nint sessionOptions, string key, string value)
    {
        var k = Encoding.UTF8.GetBytes(key + "\0");
        var v = Encoding.UTF8.GetBytes(value + "\0");
        fixed (byte* kp = k)
        fixed (byte* vp = v)
        {
            api.Check(api.AddSessionConfigEntry(sessionOptions, kp, vp));
        }
    }

    /// <summary>
    /// CUDA: OrtCUDAProviderOptionsV2 created by ORT, filled with string key/values (device_id plus
    /// whatever the settings carry, e.g. gpu_mem_limit, arena_extend_strategy), appended, then released
    /// (the session options keep their own copy). Needs the CUDA build of ONNX Runtime
    /// (GRM_ORT_LIBRARY); the bundled CPU build answers with an ORT error that names the CUDA provider.
    /// Not exercised on a GPU here.
    /// </summary>
    private static void AppendCuda(OrtApi api, nint sessionOptions, OrtSessionSettings settings)
    {
        try
        {
            AppendCudaCore(api, sessionOptions, settings);
        }
        catch (OrtException ex)
        {
            throw new OrtException(
                $"The CUDA execution provider could not be set up (device {settings.CudaDeviceId}); it needs ONNX Runtime's CUDA build " +
                $"(point {OrtLibraryLocator.EnvironmentVariable} at it, with its provider libraries beside it) and a visible GPU. {api.LibraryPath} said", ex);
        }
    }

    private static void AppendCudaCore(OrtApi api, nint sessionOptions, OrtSessionSettings settings)
    {
        nint raw;
        api.Check(api.CreateCudaProviderOptions(&raw));
        using var cudaOptions = new OrtCudaProviderOptionsHandle(api, raw);
        var pairs = new Dictionary<string, string>(settings.CudaProviderOptions, StringComparer.Ordinal)
        {
            ["device_id"] = settings.CudaDeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var keys = pairs.Keys.Select(k => Marshal.StringToCoTaskMemUTF8(k)).ToArray();
        var values = pairs.Keys.Select(k => Marshal.StringToCoTaskMemUTF8(pairs[k])).ToArray();
        try
        {
            fixed (nint* k = keys)
            fixed (nint* v = values)
            {
                api.Check(api.UpdateCudaProviderOptions(raw, (byte**)k, (byte**)v, (nuint)keys.Length));
            }
            api.Check(api.SessionOptionsAppendExecutionProviderCudaV2(sessionOptions, raw));
        }
        finally
        {
            foreach (var p in keys.Concat(values))
            {
                Marshal.FreeCoTaskMem(p);
            }
        }
    }

    private OrtNodeInfo[] ReadNodes(bool isInput)
    {
        var api = Api;
        var session = Handle.DangerousGetHandle();
        nuint count;
        api.Check(isInput ? api.SessionGetInputCount(session, &count) : api.SessionGetOutputCount(session, &count));
        var nodes = new OrtNodeInfo[(int)count];
        for (nuint i = 0; i < count; i++)
        {
            byte* name;
            api.Check(isInput
                ? api.SessionGetInputName(session, i, api.DefaultAllocator, &name)
                : api.SessionGetOutputName(session, i, api.DefaultAllocator, &name));
            var nameString = api.TakeAllocatedString(name);

            nint typeInfo;
            api.Check(isInput
                ? api.SessionGetInputTypeInfo(session, i, &typeInfo)
                : api.SessionGetOutputTypeInfo(session, i, &typeInfo));
            using var typeInfoHandle = new OrtTypeInfoHandle(api, typeInfo);
            int onnxType;
            api.Check(api.GetOnnxTypeFromTypeInfo(typeInfo, &onnxType));
            if (onnxType != 1) // ONNX_TYPE_TENSOR
            {
                nodes[(int)i] = new OrtNodeInfo(nameString, TensorElementType.Undefined, []);
                continue;
            }
            nint tensorInfo; // owned by typeInfo, not released separately
            api.Check(api.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo));
            var (type, shape) = OrtTensor.ReadTypeAndShape(api, tensorInfo);
            nodes[(int)i] = new OrtNodeInfo(nameString, type, shape);
        }
        return nodes;
    }

    /// <summary>A null-terminated UTF-8 copy of a name, kept for the session's lifetime.</summary>
    internal byte* Utf8(string name)
    {
        lock (_utf8Names)
        {
            if (!_utf8Names.TryGetValue(name, out var p))
            {
                p = Marshal.StringToCoTaskMemUTF8(name);
                _utf8Names[name] = p;
            }
            return (byte*)p;
        }
    }

    /// <summary>
    /// Runs the model; outputs are allocated by ONNX Runtime and owned by the caller. A cancellable token
    /// sets ORT's terminate flag, so a long forward pass stops too (and surfaces as cancellation).
    /// </summary>
    public OrtTensor[] Run(
        IReadOnlyList<string> inputNames,
        IReadOnlyList<OrtTensor> inputs,
        IReadOnlyList<string> outputNames,
        CancellationToken cancellationToken = default)
    {
        if (inputNames.Count != inputs.Count)
        {
            throw new ArgumentException("One input tensor per input name is needed.", nameof(inputs));
        }
        var api = Api;
        var names = stackalloc byte*[inputNames.Count];
        var values = stackalloc nint[inputs.Count];
        var outNames = stackalloc byte*[outputNames.Count];
        var outValues = stackalloc nint[outputNames.Count];
        for (var i = 0; i < inputNames.Count; i++)
        {
            names[i] = Utf8(inputNames[i]);
            values[i] = inputs[i].Handle.DangerousGetHandle();
        }
        for (var i = 0; i < outputNames.Count; i++)
        {
            outNames[i] = Utf8(outputNames[i]);
            outValues[i] = 0;
        }
        using var runOptions = CreateRunOptions(cancellationToken, out var registration);
        using (registration)
        {
            var status = api.Run(Handle.DangerousGetHandle(), runOptions?.DangerousGetHandle() ?? 0,
                names, values, (nuint)inputNames.Count, outNames, (nuint)outputNames.Count, outValues);
            ThrowIfFailed(status, cancellationToken);
        }
        GC.KeepAlive(inputs);
        var result = new OrtTensor[outputNames.Count];
        var taken = 0;
        try
        {
            for (; taken < result.Length; taken++)
            {
                result[taken] = OrtTensor.TakeOwnership(api, outValues[taken]);
            }
        }
        catch
        {
            // TakeOwnership released the value it failed on; release the ones after it and those taken before.
            for (var i = taken + 1; i < result.Length; i++)
            {
                api.ReleaseValue(outValues[i]);
            }
            for (var i = 0; i < taken; i++)
            {
                result[i].Dispose();
            }
            throw;
        }
        return result;
    }

    /// <summary>Runs with an IoBinding (inputs and outputs bound beforehand).</summary>
    public void Run(OrtIoBinding binding, CancellationToken cancellationToken = default)
    {
        using var runOptions = CreateRunOptions(cancellationToken, out var registration);
        using (registration)
        {
            var status = Api.RunWithBinding(Handle.DangerousGetHandle(), runOptions?.DangerousGetHandle() ?? 0, binding.Handle.DangerousGetHandle());
            ThrowIfFailed(status, cancellationToken);
        }
    }

    private OrtRunOptionsHandle? CreateRunOptions(CancellationToken cancellationToken, out CancellationTokenRegistration registration)
    {
        registration = default;
        if (!cancellationToken.CanBeCanceled)
        {
            return null;
        }
        cancellationToken.ThrowIfCancellationRequested();
        nint raw;
        Api.Check(Api.CreateRunOptions(&raw));
        var handle = new OrtRunOptionsHandle(Api, raw);
        var api = Api;
        registration = cancellationToken.Register(() =>
        {
            var status = api.RunOptionsSetTerminate(handle.DangerousGetHandle());
            if (status != 0)
            {
                api.ReleaseStatus(status);
            }
        });
        return handle;
    }

    private void ThrowIfFailed(nint status, CancellationToken cancellationToken)
    {
        if (status != 0 && cancellationToken.IsCancellationRequested)
        {
            Api.ReleaseStatus(status);
            cancellationToken.ThrowIfCancellationRequested();
        }
        Api.Check(status);
    }

    public void Dispose()
    {
        Handle.Dispose();
        lock (_utf8Names)
        {
            foreach (var p in _utf8Names.Values)
            {
                Marshal.FreeCoTaskMem(p);
            }
            _utf8Names.Clear();
        }
    }
}
