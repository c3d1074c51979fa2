using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace GrmWorker.Inference.Runtime;

/// <summary>
/// Which libonnxruntime this process loads. By default the one the NuGet package ships beside the app
/// (CPU, or CUDA with <c>-p:GrmExecution=cuda</c>); <c>Inference:OrtLibraryPath</c>, else <c>GRM_ORT_LIBRARY</c>,
/// points Microsoft's managed API at another build through a DllImport resolver. One library per process:
/// the first call decides, and asking for another one later is an error.
/// </summary>
public static class OrtLibrary
{
    public const string EnvironmentVariable = "GRM_ORT_LIBRARY";
    public const string SettingName = "Inference:OrtLibraryPath";
    private const string NativeName = "onnxruntime";

    private static readonly Lock Gate = new();
    private static bool s_configured;
    private static bool s_resolverInstalled;
    private static string? s_override;

    /// <summary>
    /// Decides the library before ONNX Runtime is first touched and creates the process-wide environment (ONNX
    /// Runtime logs errors only). <paramref name="explicitPath"/> (the setting) wins over the environment variable;
    /// empty means not set.
    /// </summary>
    public static void Configure(string? explicitPath)
    {
        var fromSetting = Blank(explicitPath);
        var wanted = fromSetting ?? Blank(Environment.GetEnvironmentVariable(EnvironmentVariable));
        var source = fromSetting is not null ? SettingName : EnvironmentVariable;
        lock (Gate)
        {
            if (s_configured)
            {
                // no explicit path: whatever is loaded serves (the variable was read when it was loaded)
                if (fromSetting is not null && !SamePath(fromSetting, s_override))
                {
                    throw new OrtRuntimeException(
                        $"ONNX Runtime is already loaded from {s_override ?? "the package's own library"}; one process uses one library, so {fromSetting} ({SettingName}) cannot be loaded too.");
                }
                return;
            }
            if (wanted is not null && !File.Exists(wanted))
            {
                throw new OrtRuntimeException($"The ONNX Runtime library {wanted} named by {source} does not exist; point {source} at libonnxruntime.so, or unset it to use the library the app ships with.");
            }
            if (wanted is not null)
            {
                s_override = Path.GetFullPath(wanted);
                if (!s_resolverInstalled)
                {
                    NativeLibrary.SetDllImportResolver(typeof(OrtEnv).Assembly, Resolve);
                    s_resolverInstalled = true;
                }
            }
            try
            {
                var options = new EnvironmentCreationOptions { logId = "grm", logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
                OrtEnv.CreateInstanceWithOptions(ref options);
                s_configured = true;
            }
            catch (Exception ex) when (OrtRuntimeException.IsNative(ex))
            {
                throw OrtRuntimeException.From(
                    $"ONNX Runtime could not be loaded from {s_override ?? "the package's runtimes/ folder"} (set {EnvironmentVariable} or {SettingName} to another libonnxruntime.so)", ex.InnerException ?? ex);
            }
        }
    }

    /// <summary>ONNX Runtime's version string (e.g. 1.32.0).</summary>
    public static string Version()
    {
        Configure(null);
        return OrtEnv.Instance().GetVersionString();
    }

    /// <summary>Execution providers the loaded library was built with (e.g. CPUExecutionProvider, CUDAExecutionProvider).</summary>
    public static IReadOnlyList<string> AvailableProviders()
    {
        Configure(null);
        return OrtEnv.Instance().GetAvailableProviders();
    }

    /// <summary>The file the process mapped for libonnxruntime (read from /proc/self/maps; null where that is unavailable).</summary>
    public static string? LoadedPath()
    {
        Configure(null);
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps))
        {
            return null;
        }
        foreach (var line in File.ReadLines(maps))
        {
            var slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0 && IsOrtLibrary(Path.GetFileName(line.AsSpan(slash))))
            {
                return line[slash..];
            }
        }
        return null;
    }

    /// <summary>libonnxruntime.so[.N], or a copy renamed libonnxruntime-x.so; not the provider libraries beside it.</summary>
    private static bool IsOrtLibrary(ReadOnlySpan<char> file) =>
        file.StartsWith("libonnxruntime", StringComparison.Ordinal) && !file.StartsWith("libonnxruntime_", StringComparison.Ordinal) && file.Contains(".so", StringComparison.Ordinal);

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        var path = s_override;
        return path is not null && libraryName == NativeName ? NativeLibrary.Load(path) : 0;
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static bool SamePath(string a, string? b) => b is not null && Path.GetFullPath(a) == b;
}
