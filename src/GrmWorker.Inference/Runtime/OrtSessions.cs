using System.Globalization;
using Microsoft.ML.OnnxRuntime;

namespace GrmWorker.Inference.Runtime;

/// <summary>Creates <see cref="InferenceSession"/>s from <see cref="InferenceOptions"/>; the one place session errors become ours.</summary>
internal static class OrtSessions
{
    public static InferenceSession Create(string modelPath, InferenceOptions options)
    {
        OrtLibrary.Configure(options.OrtLibraryPath);
        if (!File.Exists(modelPath))
        {
            throw new FileNotFoundException($"ONNX model file not found: {modelPath}", modelPath);
        }
        using var sessionOptions = CreateOptions(options);
        try
        {
            return new InferenceSession(modelPath, sessionOptions);
        }
        catch (OnnxRuntimeException ex)
        {
            throw OrtRuntimeException.From($"ONNX Runtime could not load the model {modelPath}", ex);
        }
    }

    private static SessionOptions CreateOptions(InferenceOptions options)
    {
        var so = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, EnableCpuMemArena = options.EnableCpuMemArena };
        try
        {
            if (options.IntraOpThreads > 0)
            {
                so.IntraOpNumThreads = options.IntraOpThreads;
            }
            if (options.InterOpThreads > 0)
            {
                so.InterOpNumThreads = options.InterOpThreads;
            }
            if (!options.AllowSpinning)
            {
                so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
                so.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
            }
            if (options.ExecutionProvider == ExecutionProviderKind.Cuda)
            {
                AppendCuda(so, options);
            }
            return so;
        }
        catch
        {
            so.Dispose();
            throw;
        }
    }

    /// <summary>
    /// CUDA with device_id plus the string options given (e.g. gpu_mem_limit). Needs the CUDA build
    /// (<c>-p:GrmExecution=cuda</c>) and CUDA 13 + cuDNN 9 on the host: without them ONNX Runtime names the
    /// library it could not open, and we name the setting that asked for it.
    /// </summary>
    private static void AppendCuda(SessionOptions so, InferenceOptions options)
    {
        try
        {
            using var cuda = new OrtCUDAProviderOptions();
            var pairs = new Dictionary<string, string>(options.CudaProviderOptions, StringComparer.Ordinal)
            {
                ["device_id"] = options.CudaDeviceId.ToString(CultureInfo.InvariantCulture),
            };
            cuda.UpdateOptions(pairs);
            so.AppendExecutionProvider_CUDA(cuda);
        }
        catch (OnnxRuntimeException ex)
        {
            var providers = string.Join(", ", OrtEnv.Instance().GetAvailableProviders());
            throw OrtRuntimeException.From(
                $"Inference:ExecutionProvider=cuda (device {options.CudaDeviceId}) could not be set up; it needs the CUDA build " +
                $"(dotnet publish -p:GrmExecution=cuda, or {OrtLibrary.EnvironmentVariable} pointing at one), CUDA 13, cuDNN 9 and a visible GPU " +
                $"(this library has: {providers}). ONNX Runtime said", ex);
        }
    }
}
