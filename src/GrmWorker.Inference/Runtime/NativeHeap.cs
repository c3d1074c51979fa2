using System.Diagnostics;
using System.Runtime.InteropServices;

namespace GrmWorker.Inference.Runtime;

/// <summary>
/// Gives the C heap's free pages back to the operating system (glibc <c>malloc_trim(0)</c>), at most once per interval.
/// ONNX Runtime mallocs every forward pass's tensors (with the concat layout, new and longer KV tensors each decode
/// step) on whichever thread runs it; glibc keeps what is freed inside its per-thread arenas, in the middle of the heap
/// where its own trimming never reaches, so a serving worker's RSS crept up round after round while the memory in use
/// stayed small (504 MB held, 31 MB in use, docs/CHANGELOG.md 2026-12-06). A no-op where the C library has no
/// <c>malloc_trim</c> (musl, Windows, macOS).
/// </summary>
internal static class NativeHeap
{
    private static readonly Lock Gate = new();
    private static long _lastTrim = long.MinValue;
    private static bool _unavailable = !OperatingSystem.IsLinux();

    /// <summary>Trims unless the last trim was less than <paramref name="interval"/> ago (zero or less: never); true when it trimmed.</summary>
    public static bool TrimIfDue(TimeSpan interval)
    {
        if (interval <= TimeSpan.Zero)
        {
            return false;
        }
        lock (Gate)
        {
            var now = Stopwatch.GetTimestamp();
            if (_unavailable || (_lastTrim != long.MinValue && Stopwatch.GetElapsedTime(_lastTrim, now) < interval))
            {
                return false;
            }
            _lastTrim = now;
            try
            {
                _ = MallocTrim(0); // 1: pages were released, 0: there were none to release
                return true;
            }
            catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
            {
                _unavailable = true;
                return false;
            }
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int MallocTrim(nuint pad);
}
