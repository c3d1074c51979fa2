using GrmWorker.Inference.Sampling;

namespace GrmWorker.Inference.Generation;

/// <summary>Text for token ids (e.g. <c>ids =&gt; tokenizer.Decode(ids, skipSpecialTokens: true)</c>).</summary>
public delegate string TokenDecoder(ReadOnlySpan<int> ids);

/// <summary>One sample of a job: its seed, and optional tokens that follow the shared prompt for this sample only.</summary>
public sealed record GenerationSample(ulong Seed, IReadOnlyList<int>? SuffixIds = null);

/// <summary>
/// k samples over one prompt. The prompt is prefilled once and its KV copied to the k rows (each may
/// then add its own suffix); every row draws with its own seeded RNG.
/// </summary>
public sealed record GenerationJob(
    IReadOnlyList<int> PromptIds,
    IReadOnlyList<GenerationSample> Samples,
    SamplingOptions Sampling,
    int MaxNewTokens)
{
    /// <summary>Generation stops when the decoded text contains one of these (the text is cut before it).</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>k samples seeded seed, seed+1, ...</summary>
    public static GenerationJob Create(IReadOnlyList<int> promptIds, int samples, ulong seed, SamplingOptions sampling, int maxNewTokens) =>
        new(promptIds, Enumerable.Range(0, samples).Select(i => new GenerationSample(seed + (ulong)i)).ToArray(), sampling, maxNewTokens);
}

public enum FinishReason
{
    /// <summary>An end-of-sequence token was generated (it is the last of <see cref="GeneratedSample.Tokens"/>).</summary>
    Eos,

    /// <summary>The text reached a stop string.</summary>
    StopString,

    /// <summary>The job's MaxNewTokens were generated.</summary>
    MaxNewTokens,

    /// <summary>The model's context length was reached.</summary>
    ContextLength,
}

/// <summary>One row's output: generated token ids only (not the prompt), its text when a decoder was given.</summary>
public sealed record GeneratedSample(int JobIndex, int SampleIndex, IReadOnlyList<int> Tokens, string? Text, FinishReason FinishReason);

/// <summary>Counts and timings of one batched generation.</summary>
public sealed record GenerationStats(
    int Rows,
    int PromptTokens,
    int PrefillTokens,
    int GeneratedTokens,
    int DecodeSteps,
    TimeSpan PrefillTime,
    TimeSpan DecodeTime)
{
    public double DecodeTokensPerSecond => DecodeTime > TimeSpan.Zero ? (GeneratedTokens - Rows) / DecodeTime.TotalSeconds : 0;

    /// <summary>Waves the rows ran in to keep the KV cache within its budget (1: all at once).</summary>
    public int Waves { get; init; } = 1;

    /// <summary>The most KV cache bytes held at once (past and present of a forward pass, or two buffers during a copy).</summary>
    public long PeakKvBytes { get; init; }

    /// <summary>The largest logits tensor a forward pass returned (a prefill's: every fed position's logits).</summary>
    public long PeakLogitsBytes { get; init; }

    /// <summary>Counts and times added up over waves run one after the other; the peak is the largest.</summary>
    public static GenerationStats Sum(IReadOnlyList<GenerationStats> waves)
    {
        ArgumentNullException.ThrowIfNull(waves);
        return new GenerationStats(
            waves.Sum(w => w.Rows), waves.Sum(w => w.PromptTokens), waves.Sum(w => w.PrefillTokens), waves.Sum(w => w.GeneratedTokens),
            waves.Sum(w => w.DecodeSteps), TimeSpan.FromTicks(waves.Sum(w => w.PrefillTime.Ticks)), TimeSpan.FromTicks(waves.Sum(w => w.DecodeTime.Ticks)))
        {
            Waves = waves.Sum(w => w.Waves),
            PeakKvBytes = waves.Max(w => w.PeakKvBytes),
            PeakLogitsBytes = waves.Max(w => w.PeakLogitsBytes),
        };
    }
}

/// <summary>Per job, its samples in order; plus stats.</summary>
public sealed record GenerationResult(IReadOnlyList<IReadOnlyList<GeneratedSample>> Jobs, GenerationStats Stats);

/// <summary>What the generator needs from the model config and the engine settings.</summary>
public sealed record GeneratorSettings
{
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    public int PadTokenId { get; init; }

    public int ContextLength { get; init; } = int.MaxValue;

    /// <summary>Prefill each job's prompt once and copy it to its k rows (false: prefill every row).</summary>
    public bool SharePrefix { get; init; } = true;

    public static GeneratorSettings From(ModelConfig config) => new()
    {
        EosTokenIds = config.EosTokenIds,
        PadTokenId = config.PadTokenId ?? config.EosTokenIds[0],
        ContextLength = config.ContextLength,
    };
}
