namespace GrmWorker.Inference;

/// <summary>Which execution provider runs the model.</summary>
public enum ExecutionProviderKind
{
    Cpu,
    Cuda,
}

/// <summary>How the causal LM runs: which ONNX Runtime library, which execution provider, threads.</summary>
public sealed class InferenceOptions
{
    public const string SectionName = "Inference";

    /// <summary>Path to libonnxruntime; null: <c>GRM_ORT_LIBRARY</c>, then the library the NuGet package ships beside the app.</summary>
    public string? OrtLibraryPath { get; set; }

    /// <summary><c>cpu</c> or <c>cuda</c> (the latter needs the CUDA build: <c>-p:GrmExecution=cuda</c>).</summary>
    public ExecutionProviderKind ExecutionProvider { get; set; } = ExecutionProviderKind.Cpu;

    public int CudaDeviceId { get; set; }

    /// <summary>Extra CUDA provider options as ORT's string keys, e.g. <c>gpu_mem_limit</c>.</summary>
    public Dictionary<string, string> CudaProviderOptions { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Threads within one operator; 0 = ONNX Runtime's default (one per core).</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>Threads across operators; 0 = default.</summary>
    public int InterOpThreads { get; set; }

    /// <summary>
    /// Let ONNX Runtime's pool threads spin while waiting for work (its default): faster on dedicated cores,
    /// wasteful where cores are shared with other processes.
    /// </summary>
    public bool AllowSpinning { get; set; } = true;

    /// <summary>
    /// Run through an IoBinding, with present KV outputs allocated where the provider computes (on the GPU
    /// for CUDA) and fed back as the next past. Always on for CUDA.
    /// </summary>
    public bool UseIoBinding { get; set; }

    /// <summary>Drop finished rows from the batch (copying the KV of the rows still running) instead of padding them.</summary>
    public bool CompactFinishedRows { get; set; } = true;

    public void Validate()
    {
        if (IntraOpThreads < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), IntraOpThreads, "Inference:IntraOpThreads must be 0 (default) or positive.");
        }
        if (InterOpThreads < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(InterOpThreads), InterOpThreads, "Inference:InterOpThreads must be 0 (default) or positive.");
        }
        if (CudaDeviceId < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(CudaDeviceId), CudaDeviceId, "Inference:CudaDeviceId must be 0 or positive.");
        }
    }
}
