using System.Text.RegularExpressions;
using GrmWorker.Inference.Runtime;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace GrmWorker.Inference;

/// <summary>
/// A decoder-only model exported with a KV cache (the optimum / Hugging Face layout):
/// <code>
///   input_ids                  int64 [B, S]
///   attention_mask             int64 [B, P+S]      1 = real token, 0 = pad
///   position_ids (optional)    int64 [B, S]
///   past_key_values.{i}.key    kv    [B, H, P, Dh]  (and .value)
///   -> logits                  lg    [B, S, V]
///   -> present.{i}.key         kv    [B, H, P+S, Dh] (and .value)
/// </code>
/// Layers, KV heads, head size and dtypes (fp32 / fp16) are read from the session's own metadata,
/// so other exports of this layout load without code changes.
/// </summary>
public sealed partial class CausalLm : IDisposable
{
    internal const string InputIdsName = "input_ids";
    internal const string AttentionMaskName = "attention_mask";
    internal const string PositionIdsName = "position_ids";
    internal const string LogitsName = "logits";

    private CausalLm(InferenceSession session, string source, InferenceOptions options, KvCacheConfig kvCache)
    {
        Session = session;
        Source = source;
        Runner = new OrtRunner(session, source);
        Options = options;
        KvCacheBudget = options.ResolveKvCacheBudget();
        KvLayout = kvCache.Layout;
        KvMaxLength = kvCache.MaxLength;
        var inputs = session.InputMetadata;
        var outputs = session.OutputMetadata;
        Require(inputs, InputIdsName, TensorElementType.Int64);
        Require(inputs, AttentionMaskName, TensorElementType.Int64);
        HasPositionIds = inputs.ContainsKey(PositionIdsName);
        if (HasPositionIds)
        {
            Require(inputs, PositionIdsName, TensorElementType.Int64);
        }
        if (!outputs.TryGetValue(LogitsName, out var logits))
        {
            throw Unsupported($"it has no '{LogitsName}' output");
        }
        if (!logits.IsTensor || logits.ElementDataType is not (TensorElementType.Float or TensorElementType.Float16))
        {
            throw Unsupported($"'{LogitsName}' is {logits.ElementDataType}; float32 or float16 is needed");
        }
        LogitsElementType = logits.ElementDataType;
        LogitsEveryPosition = !(logits.Dimensions.Length == 3 && logits.Dimensions[1] == 1);
        VocabSize = logits.Dimensions.Length == 3 && logits.Dimensions[2] > 0 ? logits.Dimensions[2] : -1;

        var layers = new SortedDictionary<int, (string? Key, string? Value)>();
        foreach (var name in session.InputNames)
        {
            var m = PastPattern().Match(name);
            if (m.Success)
            {
                var layer = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                var entry = layers.GetValueOrDefault(layer);
                layers[layer] = m.Groups[2].Value == "key" ? (name, entry.Value) : (entry.Key, name);
            }
            else if (name is not (InputIdsName or AttentionMaskName or PositionIdsName))
            {
                throw Unsupported($"input '{name}' is not one this engine feeds (input_ids, attention_mask, position_ids, past_key_values.N.key|value)");
            }
        }
        if (layers.Count == 0)
        {
            throw Unsupported("it has no past_key_values.N.key|value inputs (export it with a KV cache)");
        }
        NumLayers = layers.Count;
        PastKeyNames = new string[NumLayers];
        PastValueNames = new string[NumLayers];
        PresentNames = new string[2 * NumLayers];
        var first = layers.Values.First().Key;
        for (var i = 0; i < NumLayers; i++)
        {
            if (!layers.TryGetValue(i, out var pair) || pair.Key is null || pair.Value is null)
            {
                throw Unsupported($"past_key_values.{i}.key and .value are not both present (layers must be numbered 0..{NumLayers - 1})");
            }
            PastKeyNames[i] = pair.Key;
            PastValueNames[i] = pair.Value;
            foreach (var (kind, index) in new[] { ("key", 2 * i), ("value", 2 * i + 1) })
            {
                var name = FindPresent(outputs, i, kind) ?? throw Unsupported($"it has no present.{i}.{kind} output");
                PresentNames[index] = name;
            }
        }
        var firstKey = inputs[first!];
        KvElementType = firstKey.ElementDataType;
        if (KvElementType is not (TensorElementType.Float or TensorElementType.Float16))
        {
            throw Unsupported($"past_key_values are {KvElementType}; float32 or float16 is needed");
        }
        var dims = firstKey.Dimensions;
        var present0 = outputs[PresentNames[0]].Dimensions;
        NumKvHeads = FixedDim(dims, present0, 1, "heads");
        HeadDim = FixedDim(dims, present0, 3, "head size");

        InputNames = [InputIdsName, AttentionMaskName, .. HasPositionIds ? new[] { PositionIdsName } : [], .. Enumerable.Range(0, NumLayers).SelectMany(i => new[] { PastKeyNames[i], PastValueNames[i] })];
        OutputNames = [LogitsName, .. PresentNames];
        if (options.ExecutionProvider == ExecutionProviderKind.Cuda)
        {
            DeviceMemory = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, options.CudaDeviceId, OrtMemType.Default);
        }
    }

    internal InferenceSession Session { get; }

    internal OrtRunner Runner { get; }

    public InferenceOptions Options { get; }

    public int NumLayers { get; }

    /// <summary>Most KV cache bytes one <see cref="Generation.BatchedGenerator.Generate(IReadOnlyList{Generation.GenerationJob}, CancellationToken)"/> holds at once.</summary>
    public long KvCacheBudget { get; }

    /// <summary>Heads in the KV cache (fewer than query heads for grouped-query attention).</summary>
    public int NumKvHeads { get; }

    public int HeadDim { get; }

    /// <summary>From the logits output; -1 until a run when the export leaves it symbolic.</summary>
    public int VocabSize { get; private set; }

    public TensorElementType KvElementType { get; }

    public TensorElementType LogitsElementType { get; }

    public bool HasPositionIds { get; }

    /// <summary>How the export keeps its KV cache (from the model config; concat when loaded from a bare path).</summary>
    public KvCacheLayout KvLayout { get; }

    /// <summary>Shared-buffer layout: the longest per-row buffer the config allows (null: the context length).</summary>
    public int? KvMaxLength { get; }

    /// <summary>Where present KV outputs are bound with IoBinding; null = host memory (CPU provider).</summary>
    internal OrtMemoryInfo? DeviceMemory { get; }

    internal string[] PastKeyNames { get; }

    internal string[] PastValueNames { get; }

    /// <summary>present.{i}.key, present.{i}.value, interleaved by layer.</summary>
    internal string[] PresentNames { get; }

    /// <summary>input_ids, attention_mask, [position_ids], then past key/value interleaved by layer.</summary>
    internal string[] InputNames { get; }

    /// <summary>logits, then presents interleaved by layer.</summary>
    internal string[] OutputNames { get; }

    /// <summary>Path of the .onnx file.</summary>
    public string Source { get; }

    /// <summary>KV cache bytes one row needs per cached position: 2 (key, value) x layers x KV heads x head size x element size.</summary>
    public long KvBytesPerToken => 2L * NumLayers * NumKvHeads * HeadDim * OrtTensors.SizeOf(KvElementType);

    /// <summary>Whether the export returns logits for every fed position ([B, S, V]) rather than each row's last ([B, 1, V]).</summary>
    public bool LogitsEveryPosition { get; }

    /// <summary>Logits bytes per returned position: vocab x element size (0 until a run when the export leaves the vocab symbolic).</summary>
    public long LogitsBytesPerPosition => Math.Max(0, VocabSize) * (long)OrtTensors.SizeOf(LogitsElementType);

    public static CausalLm Load(string modelPath, InferenceOptions? options = null) => Load(modelPath, options, new KvCacheConfig());

    /// <summary>Loads a model whose KV cache layout is given (a model config's <c>kvCache</c> section).</summary>
    public static CausalLm Load(string modelPath, InferenceOptions? options, KvCacheConfig kvCache)
    {
        ArgumentNullException.ThrowIfNull(kvCache);
        options ??= new InferenceOptions();
        options.Validate();
        var session = OrtSessions.Create(modelPath, options);
        try
        {
            return new CausalLm(session, modelPath, options, kvCache);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public static CausalLm Load(ModelConfig config, InferenceOptions? options = null) => Load(config.ModelPath, options, config.KvCache);

    /// <summary>
    /// One forward pass (B = <paramref name="batch"/>, P+S = <paramref name="totalLength"/>). <paramref name="inputIds"/> [B,S], <paramref name="attentionMask"/> [B,P+S],
    /// <paramref name="positionIds"/> [B,S] (ignored when the model has none), past from
    /// <paramref name="cache"/> [B,H,P,Dh]. The cache then holds present [B,H,P+S,Dh]; the returned
    /// logits [B,S,V] are in host memory and owned by the caller.
    /// </summary>
    internal Logits Forward(
        int batch,
        int totalLength,
        OrtValue inputIds,
        OrtValue attentionMask,
        OrtValue? positionIds,
        KvCache cache,
        OrtIoBinding? binding,
        bool presentOnDevice,
        CancellationToken cancellationToken)
    {
        var inputs = new List<OrtValue>(InputNames.Length) { inputIds, attentionMask };
        if (HasPositionIds)
        {
            inputs.Add(positionIds ?? throw new ArgumentNullException(nameof(positionIds)));
        }
        for (var i = 0; i < NumLayers; i++)
        {
            inputs.Add(cache.Keys[i]);
            inputs.Add(cache.Values[i]);
        }

        OrtValue[] outputs;
        if (binding is null)
        {
            outputs = [.. Runner.Run(InputNames, inputs, OutputNames, cancellationToken)];
        }
        else
        {
            binding.ClearBoundInputs();
            binding.ClearBoundOutputs();
            for (var i = 0; i < InputNames.Length; i++)
            {
                binding.BindInput(InputNames[i], inputs[i]);
            }
            binding.BindOutputToDevice(LogitsName, OrtMemoryInfo.DefaultInstance);
            var presentMemory = presentOnDevice && DeviceMemory is not null ? DeviceMemory : OrtMemoryInfo.DefaultInstance;
            foreach (var name in PresentNames)
            {
                binding.BindOutputToDevice(name, presentMemory);
            }
            outputs = [.. Runner.Run(binding, cancellationToken)];
            binding.ClearBoundInputs();
            binding.ClearBoundOutputs();
        }
        cache.ReplaceWithPresent(outputs.AsSpan(1), batch, totalLength, onDevice: binding is not null && presentOnDevice && DeviceMemory is not null);
        return TakeLogits(outputs[0]);
    }

    /// <summary>
    /// Shared-buffer layout: one forward pass with past.N.* and present.N.* bound to the same buffers
    /// (<paramref name="keys"/>/<paramref name="values"/>, [B, H, M, Dh] each), which GroupQueryAttention
    /// updates in place. Returns the logits [B, S, V] in host memory, owned by the caller.
    /// </summary>
    internal Logits ForwardShared(
        OrtValue inputIds,
        OrtValue attentionMask,
        OrtValue? positionIds,
        IReadOnlyList<OrtValue> keys,
        IReadOnlyList<OrtValue> values,
        OrtIoBinding binding,
        CancellationToken cancellationToken)
    {
        binding.ClearBoundInputs();
        binding.ClearBoundOutputs();
        binding.BindInput(InputIdsName, inputIds);
        binding.BindInput(AttentionMaskName, attentionMask);
        if (HasPositionIds)
        {
            binding.BindInput(PositionIdsName, positionIds ?? throw new ArgumentNullException(nameof(positionIds)));
        }
        binding.BindOutputToDevice(LogitsName, OrtMemoryInfo.DefaultInstance); // bound first: outputs come in binding order
        for (var i = 0; i < NumLayers; i++)
        {
            binding.BindInput(PastKeyNames[i], keys[i]);
            binding.BindInput(PastValueNames[i], values[i]);
            binding.BindOutput(PresentNames[2 * i], keys[i]);
            binding.BindOutput(PresentNames[(2 * i) + 1], values[i]);
        }
        OrtValue[] outputs = [.. Runner.Run(binding, cancellationToken)];
        binding.ClearBoundInputs();
        binding.ClearBoundOutputs();
        // outputs[1..] are new references to our own buffers: released, the buffers stay
        foreach (var present in outputs.AsSpan(1))
        {
            present.Dispose();
        }
        return TakeLogits(outputs[0]);
    }

    /// <summary>
    /// Shared-buffer decode step with the least binding work: the KV buffers (<paramref name="cache"/>) are bound as
    /// past and present only when <paramref name="rebindCache"/> (a new cache, or after another pass used the
    /// binding); the inputs, fed anew each step, replace their previous bindings; logits go into
    /// <paramref name="logits"/> [B, 1, V], a value of the caller's, so nothing is fetched back.
    /// </summary>
    internal void StepShared(
        OrtValue inputIds,
        OrtValue attentionMask,
        OrtValue? positionIds,
        SharedKvCache cache,
        bool rebindCache,
        OrtValue logits,
        OrtIoBinding binding,
        CancellationToken cancellationToken)
    {
        if (rebindCache)
        {
            binding.ClearBoundInputs();
            binding.ClearBoundOutputs();
            for (var i = 0; i < NumLayers; i++)
            {
                binding.BindInput(PastKeyNames[i], cache.Keys[i]);
                binding.BindInput(PastValueNames[i], cache.Values[i]);
                binding.BindOutput(PresentNames[2 * i], cache.Keys[i]);
                binding.BindOutput(PresentNames[(2 * i) + 1], cache.Values[i]);
            }
        }
        binding.BindInput(InputIdsName, inputIds);
        binding.BindInput(AttentionMaskName, attentionMask);
        if (HasPositionIds)
        {
            binding.BindInput(PositionIdsName, positionIds ?? throw new ArgumentNullException(nameof(positionIds)));
        }
        binding.BindOutput(LogitsName, logits);
        Runner.RunBound(binding, cancellationToken);
    }

    private Logits TakeLogits(OrtValue value)
    {
        var logits = new Logits(value, LogitsElementType);
        if (VocabSize < 0)
        {
            VocabSize = logits.Vocab;
        }
        return logits;
    }

    private static string? FindPresent(IReadOnlyDictionary<string, NodeMetadata> outputs, int layer, string kind)
    {
        foreach (var candidate in new[] { $"present.{layer}.{kind}", $"present_key_values.{layer}.{kind}" })
        {
            if (outputs.ContainsKey(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private int FixedDim(int[] past, int[] present, int axis, string what)
    {
        if (past.Length == 4 && past[axis] > 0)
        {
            return past[axis];
        }
        if (present.Length == 4 && present[axis] > 0)
        {
            return present[axis];
        }
        throw Unsupported($"the KV cache's {what} (axis {axis} of [batch, heads, seq, head_dim]) is not a fixed number");
    }

    private void Require(IReadOnlyDictionary<string, NodeMetadata> inputs, string name, TensorElementType type)
    {
        if (!inputs.TryGetValue(name, out var node))
        {
            throw Unsupported($"it has no '{name}' input");
        }
        if (!node.IsTensor || node.ElementDataType != type)
        {
            throw Unsupported($"input '{name}' is {node.ElementDataType}, not {type}");
        }
    }

    private NotSupportedException Unsupported(string why) =>
        new($"Model {Source} is not a causal LM with a KV cache in the expected layout: {why}.");

    [GeneratedRegex(@"^past_key_values\.(\d+)\.(key|value)$")]
    private static partial Regex PastPattern();

    public void Dispose()
    {
        DeviceMemory?.Dispose();
        Session.Dispose();
    }
}
