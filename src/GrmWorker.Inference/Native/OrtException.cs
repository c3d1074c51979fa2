namespace GrmWorker.Inference.Native;

/// <summary>OrtErrorCode from onnxruntime_c_api.h.</summary>
public enum OrtErrorCode
{
    Ok = 0,
    Fail = 1,
    InvalidArgument = 2,
    NoSuchFile = 3,
    NoModel = 4,
    EngineError = 5,
    RuntimeException = 6,
    InvalidProtobuf = 7,
    ModelLoaded = 8,
    NotImplemented = 9,
    InvalidGraph = 10,
    EpFail = 11,
}

/// <summary>An error ONNX Runtime reported; the message is ONNX Runtime's own.</summary>
public class OrtException : Exception
{
    public OrtException()
    {
    }

    public OrtException(string message)
        : base(message)
    {
    }

    public OrtException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public OrtException(OrtErrorCode code, string message)
        : base($"ONNX Runtime error {code}: {message}")
    {
        Code = code;
        OrtMessage = message;
    }

    /// <summary>Adds what we were doing in front of ORT's message, keeping its code and text.</summary>
    public OrtException(string context, OrtException inner)
        : base($"{context}: {inner?.Message}", inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        Code = inner.Code;
        OrtMessage = inner.OrtMessage;
    }

    public OrtErrorCode Code { get; } = OrtErrorCode.Fail;

    /// <summary>The message exactly as ONNX Runtime wrote it.</summary>
    public string OrtMessage { get; } = "";
}

/// <summary>The ONNX Runtime shared library could not be found or loaded.</summary>
public class OrtLibraryNotFoundException : Exception
{
    public OrtLibraryNotFoundException()
    {
    }

    public OrtLibraryNotFoundException(string message)
        : base(message)
    {
    }

    public OrtLibraryNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public OrtLibraryNotFoundException(string message, IReadOnlyList<string> pathsTried)
        : base(message)
    {
        PathsTried = pathsTried;
    }

    public IReadOnlyList<string> PathsTried { get; } = [];
}
