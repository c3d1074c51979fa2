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
    public const string Section = "Inference";

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

    /// <summary>
    /// Most bytes of KV cache a generation may hold at once; larger batches run in waves that fit. Null: derived
    /// (CPU: a sixteenth of the memory the process may use, at most 256 MiB; CUDA: half of <c>gpu_mem_limit</c>, which
    /// must then be set in <see cref="CudaProviderOptions"/>).
    /// </summary>
    public long? KvCacheBudget { get; set; }

    /// <summary>Drop finished rows from the batch (copying the KV of the rows still running) instead of padding them.</summary>
    public bool CompactFinishedRows { get; set; } = true;

    /// <summary>
    /// ONNX Runtime's CPU memory arena (<c>SessionOptions.EnableCpuMemArena</c>). Off by default: the arena keeps every
    /// byte it ever grew to, and the concat layout's ever-longer KV tensors made it grow for as long as a worker served
    /// (docs/CHANGELOG.md, 2026-12-06); without it tensors come from malloc, which <see cref="NativeHeapTrimInterval"/> keeps in check.
    /// </summary>
    public bool EnableCpuMemArena { get; set; }

    /// <summary>
    /// After a generation, give the C heap's free pages back to the system (glibc <c>malloc_trim</c>) when this long has
    /// passed since the last time; zero turns it off. Rarely enough that re-touching the pages costs nothing measurable.
    /// </summary>
    public TimeSpan NativeHeapTrimInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Every bad setting, each message naming it: what the worker checks when it starts. <see cref="Validate"/> throws
    /// for the first one of a single setting; the CUDA budget is checked again where it is resolved (<see cref="ResolveKvCacheBudget"/>).
    /// </summary>
    public static IEnumerable<string> Problems(InferenceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var (_, _, message) in options.SettingProblems()) yield return message;
        if (options.ExecutionProvider == ExecutionProviderKind.Cuda && options.KvCacheBudget is null && !options.CudaProviderOptions.ContainsKey("gpu_mem_limit"))
            yield return CudaBudgetRequired;
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for the first setting out of range: no session is built with one.</summary>
    public void Validate()
    {
        if (SettingProblems().FirstOrDefault() is ({ } setting, var value, var message))
            throw new ArgumentOutOfRangeException(setting, value, message);
    }

    private IEnumerable<(string Setting, object? Value, string Message)> SettingProblems()
    {
        if (IntraOpThreads < 0) yield return (nameof(IntraOpThreads), IntraOpThreads, $"{Section}:IntraOpThreads must be 0 (default) or positive");
        if (InterOpThreads < 0) yield return (nameof(InterOpThreads), InterOpThreads, $"{Section}:InterOpThreads must be 0 (default) or positive");
        if (CudaDeviceId < 0) yield return (nameof(CudaDeviceId), CudaDeviceId, $"{Section}:CudaDeviceId must be 0 or positive");
        if (KvCacheBudget is < 1)
            yield return (nameof(KvCacheBudget), KvCacheBudget, $"{Section}:KvCacheBudget must be a positive number of bytes (or unset to derive it)");
        if (NativeHeapTrimInterval < TimeSpan.Zero)
            yield return (nameof(NativeHeapTrimInterval), NativeHeapTrimInterval, $"{Section}:NativeHeapTrimInterval must be zero (off) or positive");
    }

    private const string CudaBudgetRequired =
        $"{Section}:KvCacheBudget (bytes) is required with {Section}:ExecutionProvider=cuda, unless {Section}:CudaProviderOptions:gpu_mem_limit is set (then half of it is used)";

    /// <summary>The KV budget in force: the setting, else derived as <see cref="KvCacheBudget"/> describes.</summary>
    public long ResolveKvCacheBudget()
    {
        if (KvCacheBudget is { } set)
        {
            return set;
        }
        if (ExecutionProvider == ExecutionProviderKind.Cuda)
        {
            if (CudaProviderOptions.TryGetValue("gpu_mem_limit", out var limit) && long.TryParse(limit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var bytes) && bytes > 1)
            {
                return bytes / 2;
            }
            throw new ArgumentException(CudaBudgetRequired + ".");
        }
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        // Small waves cost little on a CPU: grm eval on the bundled GRM ran twice as fast with a 64 MiB budget as with
        // 1 GiB, at a tenth of the peak RSS (docs/CHANGELOG.md)
        return Math.Min(available / 16, 256L << 20);
    }
}
