using Microsoft.ML.OnnxRuntime;

namespace GrmWorker.Inference.Runtime;

/// <summary>
/// ONNX Runtime could not do what was asked: the library did not load, a session could not be created, or a
/// run failed. The message says what we were doing and keeps ONNX Runtime's own words.
/// </summary>
public sealed class OrtRuntimeException : Exception
{
    public OrtRuntimeException()
    {
    }

    public OrtRuntimeException(string message)
        : base(message)
    {
    }

    public OrtRuntimeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>"context: ORT's message", for an ONNX Runtime error or a native library that did not load.</summary>
    internal static OrtRuntimeException From(string context, Exception inner) => new($"{context}: {inner.Message}", inner);

    /// <summary>Whether <paramref name="ex"/> is a failure of ONNX Runtime or of loading it (what <see cref="From"/> wraps).</summary>
    internal static bool IsNative(Exception ex) => ex is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException or TypeInitializationException;
}
