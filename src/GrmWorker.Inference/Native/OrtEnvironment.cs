namespace GrmWorker.Inference.Native;

/// <summary>
/// The process-wide OrtEnv (ONNX Runtime wants one per process) and the CPU memory description used for
/// tensors over our own buffers. Created on first use and kept for the life of the process.
/// </summary>
internal sealed unsafe class OrtEnvironment
{
    private static readonly Lock CreateLock = new();
    private static OrtEnvironment? s_shared;

    private OrtEnvironment(OrtApi api)
    {
        Api = api;
        nint env;
        fixed (byte* logId = "grm"u8)
        {
            // ORT_LOGGING_LEVEL_ERROR = 3: warnings about e.g. unused initializers stay quiet.
            api.Check(api.CreateEnv(3, logId, &env));
        }
        Handle = new OrtEnvHandle(api, env);
        api.Check(api.DisableTelemetryEvents(env));
        CpuMemory = OrtMemoryInfo.Cpu(api);
    }

    public OrtApi Api { get; }

    public OrtEnvHandle Handle { get; }

    /// <summary>CPU memory, device allocator, default memory type: for tensors over host buffers.</summary>
    public OrtMemoryInfo CpuMemory { get; }

    public static OrtEnvironment Shared(string? libraryPath)
    {
        lock (CreateLock)
        {
            if (s_shared is null)
            {
                s_shared = new OrtEnvironment(OrtApi.Load(libraryPath));
            }
            else
            {
                // Fails when another explicit library path is asked for.
                OrtApi.Load(libraryPath);
            }
            return s_shared;
        }
    }
}

/// <summary>Where a tensor's bytes live (OrtMemoryInfo).</summary>
internal sealed unsafe class OrtMemoryInfo : IDisposable
{
    private OrtMemoryInfo(OrtMemoryInfoHandle handle, bool isCpu)
    {
        Handle = handle;
        IsCpu = isCpu;
    }

    public OrtMemoryInfoHandle Handle { get; }

    public bool IsCpu { get; }

    public static OrtMemoryInfo Cpu(OrtApi api)
    {
        nint info;
        // OrtDeviceAllocator = 0, OrtMemTypeDefault = 0
        api.Check(api.CreateCpuMemoryInfo(0, 0, &info));
        return new OrtMemoryInfo(new OrtMemoryInfoHandle(api, info), isCpu: true);
    }

    /// <summary>CUDA device memory ("Cuda", device allocator, default memory type) for IoBinding outputs.</summary>
    public static OrtMemoryInfo Cuda(OrtApi api, int deviceId)
    {
        nint info;
        fixed (byte* name = "Cuda"u8)
        {
            api.Check(api.CreateMemoryInfo(name, 0, deviceId, 0, &info));
        }
        return new OrtMemoryInfo(new OrtMemoryInfoHandle(api, info), isCpu: false);
    }

    public void Dispose() => Handle.Dispose();
}
