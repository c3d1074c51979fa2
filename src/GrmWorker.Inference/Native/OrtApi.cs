using System.Runtime.InteropServices;

namespace GrmWorker.Inference.Native;

/// <summary>
/// The ONNX Runtime C API: <c>OrtGetApiBase()-&gt;GetApi(version)</c> returns a table of function
/// pointers (<c>struct OrtApi</c> in onnxruntime_c_api.h). The struct is append-only, so an entry's
/// index is its position in the struct and stays valid in every later release. All native entry
/// points of this project are read from that table here, by index, and nowhere else.
/// Pointers are passed as <see cref="nint"/>; every OrtStatus* goes through <see cref="Check"/>.
/// </summary>
internal sealed unsafe class OrtApi
{
    /// <summary>
    /// The API version we ask for: 11 (ORT 1.11) is the first with the CUDA V2 provider options,
    /// the newest entry we use. Asking for the lowest version we need keeps older runtimes usable.
    /// </summary>
    public const uint ApiVersion = 11;

    // Indices into struct OrtApi (0-based position of the function pointer in the struct).
    private const int IdxCreateStatus = 0;
    private const int IdxGetErrorCode = 1;
    private const int IdxGetErrorMessage = 2;
    private const int IdxCreateEnv = 3;
    private const int IdxDisableTelemetryEvents = 6;
    private const int IdxCreateSession = 7;
    private const int IdxCreateSessionFromArray = 8;
    private const int IdxRun = 9;
    private const int IdxCreateSessionOptions = 10;
    private const int IdxSetSessionGraphOptimizationLevel = 23;
    private const int IdxSetIntraOpNumThreads = 24;
    private const int IdxSetInterOpNumThreads = 25;
    private const int IdxSessionGetInputCount = 30;
    private const int IdxSessionGetOutputCount = 31;
    private const int IdxSessionGetInputTypeInfo = 33;
    private const int IdxSessionGetOutputTypeInfo = 34;
    private const int IdxSessionGetInputName = 36;
    private const int IdxSessionGetOutputName = 37;
    private const int IdxCreateRunOptions = 39;
    private const int IdxRunOptionsSetTerminate = 46;
    private const int IdxCreateTensorAsOrtValue = 48;
    private const int IdxCreateTensorWithDataAsOrtValue = 49;
    private const int IdxGetTensorMutableData = 51;
    private const int IdxCastTypeInfoToTensorInfo = 55;
    private const int IdxGetOnnxTypeFromTypeInfo = 56;
    private const int IdxGetTensorElementType = 60;
    private const int IdxGetDimensionsCount = 61;
    private const int IdxGetDimensions = 62;
    private const int IdxGetTensorTypeAndShape = 65;
    private const int IdxCreateMemoryInfo = 68;
    private const int IdxCreateCpuMemoryInfo = 69;
    private const int IdxAllocatorFree = 76;
    private const int IdxGetAllocatorWithDefaultOptions = 78;
    private const int IdxReleaseEnv = 92;
    private const int IdxReleaseStatus = 93;
    private const int IdxReleaseMemoryInfo = 94;
    private const int IdxReleaseSession = 95;
    private const int IdxReleaseValue = 96;
    private const int IdxReleaseRunOptions = 97;
    private const int IdxReleaseTypeInfo = 98;
    private const int IdxReleaseTensorTypeAndShapeInfo = 99;
    private const int IdxReleaseSessionOptions = 100;
    private const int IdxAddSessionConfigEntry = 130;
    private const int IdxRunWithBinding = 133;
    private const int IdxCreateIoBinding = 134;
    private const int IdxReleaseIoBinding = 135;
    private const int IdxBindInput = 136;
    private const int IdxBindOutput = 137;
    private const int IdxBindOutputToDevice = 138;
    private const int IdxGetBoundOutputValues = 140;
    private const int IdxClearBoundInputs = 141;
    private const int IdxClearBoundOutputs = 142;
    private const int IdxSessionOptionsAppendExecutionProviderCudaV2 = 204;
    private const int IdxCreateCudaProviderOptions = 205;
    private const int IdxUpdateCudaProviderOptions = 206;
    private const int IdxReleaseCudaProviderOptions = 208;

    // Status-returning entries return OrtStatus* (null = success).
    public readonly delegate* unmanaged[Cdecl]<int, byte*, nint> CreateStatus;
    public readonly delegate* unmanaged[Cdecl]<nint, int> GetErrorCode;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*> GetErrorMessage;
    public readonly delegate* unmanaged[Cdecl]<int, byte*, nint*, nint> CreateEnv;
    public readonly delegate* unmanaged[Cdecl]<nint, nint> DisableTelemetryEvents;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*, nint, nint*, nint> CreateSession;
    public readonly delegate* unmanaged[Cdecl]<nint, void*, nuint, nint, nint*, nint> CreateSessionFromArray;
    // Run(session, run_options, input_names, inputs, input_len, output_names, output_len, outputs)
    public readonly delegate* unmanaged[Cdecl]<nint, nint, byte**, nint*, nuint, byte**, nuint, nint*, nint> Run;
    public readonly delegate* unmanaged[Cdecl]<nint*, nint> CreateSessionOptions;
    public readonly delegate* unmanaged[Cdecl]<nint, int, nint> SetSessionGraphOptimizationLevel;
    public readonly delegate* unmanaged[Cdecl]<nint, int, nint> SetIntraOpNumThreads;
    public readonly delegate* unmanaged[Cdecl]<nint, int, nint> SetInterOpNumThreads;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint*, nint> SessionGetInputCount;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint*, nint> SessionGetOutputCount;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint> SessionGetInputTypeInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint> SessionGetOutputTypeInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint> SessionGetInputName;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint> SessionGetOutputName;
    public readonly delegate* unmanaged[Cdecl]<nint*, nint> CreateRunOptions;
    public readonly delegate* unmanaged[Cdecl]<nint, nint> RunOptionsSetTerminate;
    public readonly delegate* unmanaged[Cdecl]<nint, long*, nuint, int, nint*, nint> CreateTensorAsOrtValue;
    public readonly delegate* unmanaged[Cdecl]<nint, void*, nuint, long*, nuint, int, nint*, nint> CreateTensorWithDataAsOrtValue;
    public readonly delegate* unmanaged[Cdecl]<nint, void**, nint> GetTensorMutableData;
    public readonly delegate* unmanaged[Cdecl]<nint, nint*, nint> CastTypeInfoToTensorInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, int*, nint> GetOnnxTypeFromTypeInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, int*, nint> GetTensorElementType;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint*, nint> GetDimensionsCount;
    public readonly delegate* unmanaged[Cdecl]<nint, long*, nuint, nint> GetDimensions;
    public readonly delegate* unmanaged[Cdecl]<nint, nint*, nint> GetTensorTypeAndShape;
    public readonly delegate* unmanaged[Cdecl]<byte*, int, int, int, nint*, nint> CreateMemoryInfo;
    public readonly delegate* unmanaged[Cdecl]<int, int, nint*, nint> CreateCpuMemoryInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, void*, nint> AllocatorFree;
    public readonly delegate* unmanaged[Cdecl]<nint*, nint> GetAllocatorWithDefaultOptions;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseEnv;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseStatus;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseMemoryInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseSession;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseValue;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseRunOptions;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseTypeInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseTensorTypeAndShapeInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseSessionOptions;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*, byte*, nint> AddSessionConfigEntry;
    public readonly delegate* unmanaged[Cdecl]<nint, nint, nint, nint> RunWithBinding;
    public readonly delegate* unmanaged[Cdecl]<nint, nint*, nint> CreateIoBinding;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseIoBinding;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*, nint, nint> BindInput;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*, nint, nint> BindOutput;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*, nint, nint> BindOutputToDevice;
    public readonly delegate* unmanaged[Cdecl]<nint, nint, nint**, nuint*, nint> GetBoundOutputValues;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ClearBoundInputs;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ClearBoundOutputs;
    public readonly delegate* unmanaged[Cdecl]<nint, nint, nint> SessionOptionsAppendExecutionProviderCudaV2;
    public readonly delegate* unmanaged[Cdecl]<nint*, nint> CreateCudaProviderOptions;
    public readonly delegate* unmanaged[Cdecl]<nint, byte**, byte**, nuint, nint> UpdateCudaProviderOptions;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseCudaProviderOptions;

    private readonly string _version;

    private OrtApi(string libraryPath, nint apiBase, nint table)
    {
        LibraryPath = libraryPath;
        // struct OrtApiBase { GetApi; GetVersionString; }
        var getVersionString = (delegate* unmanaged[Cdecl]<byte*>)((nint*)apiBase)[1];
        _version = Marshal.PtrToStringUTF8((nint)getVersionString()) ?? "";

        var t = (nint*)table;
        CreateStatus = (delegate* unmanaged[Cdecl]<int, byte*, nint>)t[IdxCreateStatus];
        GetErrorCode = (delegate* unmanaged[Cdecl]<nint, int>)t[IdxGetErrorCode];
        GetErrorMessage = (delegate* unmanaged[Cdecl]<nint, byte*>)t[IdxGetErrorMessage];
        CreateEnv = (delegate* unmanaged[Cdecl]<int, byte*, nint*, nint>)t[IdxCreateEnv];
        DisableTelemetryEvents = (delegate* unmanaged[Cdecl]<nint, nint>)t[IdxDisableTelemetryEvents];
        CreateSession = (delegate* unmanaged[Cdecl]<nint, byte*, nint, nint*, nint>)t[IdxCreateSession];
        CreateSessionFromArray = (delegate* unmanaged[Cdecl]<nint, void*, nuint, nint, nint*, nint>)t[IdxCreateSessionFromArray];
        Run = (delegate* unmanaged[Cdecl]<nint, nint, byte**, nint*, nuint, byte**, nuint, nint*, nint>)t[IdxRun];
        CreateSessionOptions = (delegate* unmanaged[Cdecl]<nint*, nint>)t[IdxCreateSessionOptions];
        SetSessionGraphOptimizationLevel = (delegate* unmanaged[Cdecl]<nint, int, nint>)t[IdxSetSessionGraphOptimizationLevel];
        SetIntraOpNumThreads = (delegate* unmanaged[Cdecl]<nint, int, nint>)t[IdxSetIntraOpNumThreads];
        SetInterOpNumThreads = (delegate* unmanaged[Cdecl]<nint, int, nint>)t[IdxSetInterOpNumThreads];
        SessionGetInputCount = (delegate* unmanaged[Cdecl]<nint, nuint*, nint>)t[IdxSessionGetInputCount];
        SessionGetOutputCount = (delegate* unmanaged[Cdecl]<nint, nuint*, nint>)t[IdxSessionGetOutputCount];
        SessionGetInputTypeInfo = (delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint>)t[IdxSessionGetInputTypeInfo];
        SessionGetOutputTypeInfo = (delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint>)t[IdxSessionGetOutputTypeInfo];
        SessionGetInputName = (delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint>)t[IdxSessionGetInputName];
        SessionGetOutputName = (delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint>)t[IdxSessionGetOutputName];
        CreateRunOptions = (delegate* unmanaged[Cdecl]<nint*, nint>)t[IdxCreateRunOptions];
        RunOptionsSetTerminate = (delegate* unmanaged[Cdecl]<nint, nint>)t[IdxRunOptionsSetTerminate];
        CreateTensorAsOrtValue = (delegate* unmanaged[Cdecl]<nint, long*, nuint, int, nint*, nint>)t[IdxCreateTensorAsOrtValue];
        CreateTensorWithDataAsOrtValue = (delegate* unmanaged[Cdecl]<nint, void*, nuint, long*, nuint, int, nint*, nint>)t[IdxCreateTensorWithDataAsOrtValue];
        GetTensorMutableData = (delegate* unmanaged[Cdecl]<nint, void**, nint>)t[IdxGetTensorMutableData];
        CastTypeInfoToTensorInfo = (delegate* unmanaged[Cdecl]<nint, nint*, nint>)t[IdxCastTypeInfoToTensorInfo];
        GetOnnxTypeFromTypeInfo = (delegate* unmanaged[Cdecl]<nint, int*, nint>)t[IdxGetOnnxTypeFromTypeInfo];
        GetTensorElementType = (delegate* unmanaged[Cdecl]<nint, int*, nint>)t[IdxGetTensorElementType];
        GetDimensionsCount = (delegate* unmanaged[Cdecl]<nint, nuint*, nint>)t[IdxGetDimensionsCount];
        GetDimensions = (delegate* unmanaged[Cdecl]<nint, long*, nuint, nint>)t[IdxGetDimensions];
        GetTensorTypeAndShape = (delegate* unmanaged[Cdecl]<nint, nint*, nint>)t[IdxGetTensorTypeAndShape];
        CreateMemoryInfo = (delegate* unmanaged[Cdecl]<byte*, int, int, int, nint*, nint>)t[IdxCreateMemoryInfo];
        CreateCpuMemoryInfo = (delegate* unmanaged[Cdecl]<int, int, nint*, nint>)t[IdxCreateCpuMemoryInfo];
        AllocatorFree = (delegate* unmanaged[Cdecl]<nint, void*, nint>)t[IdxAllocatorFree];
        GetAllocatorWithDefaultOptions = (delegate* unmanaged[Cdecl]<nint*, nint>)t[IdxGetAllocatorWithDefaultOptions];
        ReleaseEnv = (delegate* unmanaged[Cdecl]<nint, void>)t[IdxReleaseEnv];
        ReleaseStatus = (delegate* unmanaged[Cdecl]<nint, void>)t[IdxReleaseStatus];
        ReleaseMemoryInfo = (delegate* unmanaged[Cdecl]<nint, void>)t[IdxReleaseMemoryInfo];
        ReleaseSession = (delegate* unmanaged[Cdecl]<nint, void>)t[IdxReleaseSession];
        ReleaseValue = (delegate* unmanaged[Cdecl]<nint, void>)t[IdxReleaseValue];
        ReleaseRunOptions = (delegate* unmanaged[Cdecl]<nint, void>)t[IdxReleaseRunOptions];
        ReleaseTypeInfo = (delegate* unmanaged[Cdecl]<nint, void>)t[IdxReleaseTypeInfo];
        ReleaseTensorTypeAndShapeInfo = (delegate* unmanaged[Cdecl]<nint, void>)t[IdxReleaseTensorTypeAndShapeInfo];
        ReleaseSessionOptions = (delegate* unmanaged[Cdecl]<nint, void>)t[IdxReleaseSessionOptions];
        AddSessionConfigEntry = (delegate* unmanaged[Cdecl]<nint, byte*, byte*, nint>)t[IdxAddSessionConfigEntry];
        RunWithBinding = (delegate* unmanaged[Cdecl]<nint, nint, nint, nint>)t[IdxRunWithBinding];
        CreateIoBinding = (delegate* unmanaged[Cdecl]<nint, nint*, nint>)t[IdxCreateIoBinding];
        ReleaseIoBinding = (delegate* unmanaged[Cdecl]<nint, void>)t[IdxReleaseIoBinding];
        BindInput = (delegate* unmanaged[Cdecl]<nint, byte*, nint, nint>)t[IdxBindInput];
        BindOutput = (delegate* unmanaged[Cdecl]<nint, byte*, nint, nint>)t[IdxBindOutput];
        BindOutputToDevice = (delegate* unmanaged[Cdecl]<nint, byte*, nint, nint>)t[IdxBindOutputToDevice];
        GetBoundOutputValues = (delegate* unmanaged[Cdecl]<nint, nint, nint**, nuint*, nint>)t[IdxGetBoundOutputValues];
        ClearBoundInputs = (delegate* unmanaged[Cdecl]<nint, void>)t[IdxClearBoundInputs];
        ClearBoundOutputs = (delegate* unmanaged[Cdecl]<nint, void>)t[IdxClearBoundOutputs];
        SessionOptionsAppendExecutionProviderCudaV2 = (delegate* unmanaged[Cdecl]<nint, nint, nint>)t[IdxSessionOptionsAppendExecutionProviderCudaV2];
        CreateCudaProviderOptions = (delegate* unmanaged[Cdecl]<nint*, nint>)t[IdxCreateCudaProviderOptions];
        UpdateCudaProviderOptions = (delegate* unmanaged[Cdecl]<nint, byte**, byte**, nuint, nint>)t[IdxUpdateCudaProviderOptions];
        ReleaseCudaProviderOptions = (delegate* unmanaged[Cdecl]<nint, void>)t[IdxReleaseCudaProviderOptions];

        nint allocator;
        Check(GetAllocatorWithDefaultOptions(&allocator));
        DefaultAllocator = allocator;
    }

    /// <summary>The file the table was read from.</summary>
    public string LibraryPath { get; }

    /// <summary>ONNX Runtime's own version string, e.g. "1.30.0".</summary>
    public string VersionString => _version;

    /// <summary>ORT's default CPU allocator (never freed; owned by the library).</summary>
    public nint DefaultAllocator { get; }

    private static readonly Lock LoadLock = new();
    private static OrtApi? s_loaded;

    /// <summary>
    /// Loads the library once per process. The first caller's path wins; a later call with another
    /// explicit path fails rather than silently using a different runtime.
    /// </summary>
    public static OrtApi Load(string? explicitPath)
    {
        // An empty setting (e.g. Inference:OrtLibraryPath="" from configuration) means "not set", as in the locator.
        explicitPath = string.IsNullOrWhiteSpace(explicitPath) ? null : explicitPath;
        lock (LoadLock)
        {
            if (s_loaded is not null)
            {
                if (explicitPath is not null && !SamePath(explicitPath, s_loaded.LibraryPath))
                {
                    throw new OrtLibraryNotFoundException(
                        $"ONNX Runtime is already loaded from '{s_loaded.LibraryPath}' in this process; " +
                        $"cannot load '{explicitPath}' as well (set {OrtLibraryLocator.EnvironmentVariable} once, before the first session).",
                        [explicitPath]);
                }
                return s_loaded;
            }
            var (path, handle) = OrtLibraryLocator.LoadLibrary(explicitPath);
            s_loaded = FromLibrary(path, handle);
            return s_loaded;
        }
    }

    private static OrtApi FromLibrary(string path, nint handle)
    {
        if (!NativeLibrary.TryGetExport(handle, "OrtGetApiBase", out var getApiBaseExport))
        {
            throw new OrtLibraryNotFoundException(
                $"'{path}' does not export OrtGetApiBase: it is not an ONNX Runtime library. Point {OrtLibraryLocator.EnvironmentVariable} at libonnxruntime.so.",
                [path]);
        }
        var getApiBase = (delegate* unmanaged[Cdecl]<nint>)getApiBaseExport;
        var apiBase = getApiBase();
        var getApi = (delegate* unmanaged[Cdecl]<uint, nint>)((nint*)apiBase)[0];
        var table = getApi(ApiVersion);
        if (table == 0)
        {
            var getVersion = (delegate* unmanaged[Cdecl]<byte*>)((nint*)apiBase)[1];
            throw new OrtLibraryNotFoundException(
                $"ONNX Runtime at '{path}' (version {Marshal.PtrToStringUTF8((nint)getVersion())}) does not provide C API version {ApiVersion}; ONNX Runtime 1.11 or newer is needed.",
                [path]);
        }
        return new OrtApi(path, apiBase, table);
    }

    private static bool SamePath(string a, string b) =>
        string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), StringComparison.Ordinal);

    /// <summary>The one status-to-exception path: reads code and message, releases the status, throws.</summary>
    public void Check(nint status)
    {
        if (status == 0)
        {
            return;
        }
        var code = (OrtErrorCode)GetErrorCode(status);
        var message = Marshal.PtrToStringUTF8((nint)GetErrorMessage(status)) ?? "(no message)";
        ReleaseStatus(status);
        throw new OrtException(code, message);
    }

    /// <summary>A new OrtStatus (ORT copies the message); pass it to <see cref="Check"/>, which releases it.</summary>
    internal nint NewStatus(OrtErrorCode code, string message)
    {
        var utf8 = System.Text.Encoding.UTF8.GetBytes(message + "\0");
        fixed (byte* p = utf8)
        {
            return CreateStatus((int)code, p);
        }
    }

    /// <summary>Copies a string ORT allocated with the default allocator, then frees it.</summary>
    public string TakeAllocatedString(byte* value)
    {
        if (value == null)
        {
            return "";
        }
        try
        {
            return Marshal.PtrToStringUTF8((nint)value) ?? "";
        }
        finally
        {
            Check(AllocatorFree(DefaultAllocator, value));
        }
    }
}
