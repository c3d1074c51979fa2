using GrmWorker.Inference.Runtime;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using GrmWorker.Inference.Tokenization;

namespace GrmWorker.Inference;

/// <summary>
/// A meta reward model: a small scalar classifier that reads one GRM sample as text
/// (<c>MetaRmInput.Build</c>: query, responses in the shown order, the GRM's judgement) and scores how
/// likely that sample ranked the true best response first. ONNX interface:
/// <code>
///   input_ids       int64   [B, S]   the LAST MaxTokens ids of each text, right-padded with padTokenId
///   attention_mask  int64   [B, S]   1 = real token, 0 = pad
///   -> score        float32 [B]      higher = a better sample
/// </code>
/// Thread-safe (ONNX Runtime sessions allow concurrent runs).
/// </summary>
public sealed class MetaRewardModel : IDisposable
{
    /// <summary>Rows per forward pass; longer lists run in several passes.</summary>
    public const int MaxBatchRows = 32;

    internal const string InputIdsName = "input_ids";
    internal const string AttentionMaskName = "attention_mask";
    internal const string ScoreName = "score";

    private static readonly string[] InputNames = [InputIdsName, AttentionMaskName];
    private static readonly string[] OutputNames = [ScoreName];

    private readonly InferenceSession _session;
    private readonly OrtRunner _runner;
    private readonly Tokenizer _tokenizer;

    private MetaRewardModel(MetaRmConfig config, InferenceSession session, Tokenizer tokenizer)
    {
        Config = config;
        _session = session;
        _runner = new OrtRunner(session, config.ModelPath);
        _tokenizer = tokenizer;
        CheckInterface();
    }

    public MetaRmConfig Config { get; }

    public string ModelId => Config.ModelId;

    /// <summary>Tokens the model reads per text: the last ones (the judgement is at the end).</summary>
    public int MaxTokens => Config.MaxTokens;

    /// <summary>Loads <c>meta-rm-config.json</c>, its tokenizer and its ONNX file from <paramref name="directory"/>.</summary>
    public static MetaRewardModel Load(string directory, InferenceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var config = MetaRmConfig.Load(directory);
        var tokenizer = Tokenizer.Load(config.TokenizerPath);
        var session = OrtSessions.Create(config.ModelPath, options);
        try
        {
            return new MetaRewardModel(config, session, tokenizer);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The ids the model reads for <paramref name="text"/>: its tokens, truncated to the last <see cref="MaxTokens"/>.</summary>
    public int[] Encode(string text) => Truncate(_tokenizer.Encode(text), MaxTokens);

    /// <summary>Keeps the last <paramref name="maxTokens"/> ids (the same cut as <c>meta_rm.truncate</c>).</summary>
    public static int[] Truncate(int[] ids, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        return ids.Length <= maxTokens ? ids : ids[^maxTokens..];
    }

    /// <summary>One score per text, in order. Texts are tokenized, truncated and run in batches of at most <see cref="MaxBatchRows"/>.</summary>
    public float[] Score(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var ids = new int[texts.Count][];
        for (var i = 0; i < texts.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ids[i] = Encode(texts[i] ?? throw new ArgumentException($"text {i} is null", nameof(texts)));
            if (ids[i].Length == 0)
            {
                throw new ArgumentException($"text {i} has no tokens; the meta-RM needs at least one", nameof(texts));
            }
        }
        return ScoreIds(ids, cancellationToken);
    }

    /// <summary>One score per id list (already truncated to at most <see cref="MaxTokens"/>), in order.</summary>
    internal float[] ScoreIds(IReadOnlyList<int[]> ids, CancellationToken cancellationToken)
    {
        var scores = new float[ids.Count];
        // Similar lengths share a batch, so little of each pass is padding.
        var order = Enumerable.Range(0, ids.Count).OrderBy(i => ids[i].Length).ToArray();
        for (var start = 0; start < order.Length; start += MaxBatchRows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var rows = order.AsSpan(start, Math.Min(MaxBatchRows, order.Length - start)).ToArray();
            var batchScores = RunBatch(rows.Select(r => ids[r]).ToArray(), cancellationToken);
            for (var r = 0; r < rows.Length; r++)
            {
                scores[rows[r]] = batchScores[r];
            }
        }
        return scores;
    }

    /// <summary>input_ids and attention_mask [B, S] (right-padded) -> score [B].</summary>
    private float[] RunBatch(int[][] rows, CancellationToken cancellationToken)
    {
        var width = rows.Max(r => r.Length);
        if (width > MaxTokens)
        {
            throw new ArgumentException($"a row has {width} ids; at most MaxTokens = {MaxTokens} are allowed", nameof(rows));
        }
        var inputIds = new long[rows.Length * width];
        var mask = new long[rows.Length * width];
        Array.Fill(inputIds, Config.PadTokenId);
        for (var b = 0; b < rows.Length; b++)
        {
            for (var t = 0; t < rows[b].Length; t++)
            {
                inputIds[(b * width) + t] = rows[b][t];
                mask[(b * width) + t] = 1;
            }
        }
        using var idsTensor = OrtTensors.Over<long>(inputIds, rows.Length, width);
        using var maskTensor = OrtTensors.Over<long>(mask, rows.Length, width);
        using var outputs = _runner.Run(InputNames, [idsTensor, maskTensor], OutputNames, cancellationToken);
        var info = outputs[0].GetTensorTypeAndShape();
        if (info.ElementDataType != TensorElementType.Float || info.ElementCount != rows.Length)
        {
            throw new InvalidOperationException(
                $"Meta-RM {Config.ModelPath} returned '{ScoreName}' as {info.ElementDataType} [{string.Join(",", info.Shape)}]; float32 [{rows.Length}] was expected.");
        }
        return outputs[0].Elements<float>().ToArray();
    }

    private void CheckInterface()
    {
        var inputs = _session.InputMetadata;
        if (inputs.Count != 2 || !inputs.ContainsKey(InputIdsName) || !inputs.ContainsKey(AttentionMaskName))
        {
            throw Unexpected($"its inputs are [{string.Join(", ", _session.InputNames)}], not [{InputIdsName}, {AttentionMaskName}]");
        }
        foreach (var (name, input) in inputs)
        {
            if (!input.IsTensor || input.ElementDataType != TensorElementType.Int64 || input.Dimensions.Length != 2)
            {
                throw Unexpected($"input '{name}' is {input.ElementDataType} of rank {input.Dimensions.Length}, not int64 [batch, seq]");
            }
        }
        if (!_session.OutputMetadata.TryGetValue(ScoreName, out var output))
        {
            throw Unexpected($"it has no '{ScoreName}' output (outputs: {string.Join(", ", _session.OutputNames)})");
        }
        if (!output.IsTensor || output.ElementDataType != TensorElementType.Float || output.Dimensions.Length != 1)
        {
            throw Unexpected($"output '{ScoreName}' is {output.ElementDataType} of rank {output.Dimensions.Length}, not float32 [batch]");
        }
    }

    private NotSupportedException Unexpected(string why) =>
        new($"Meta-RM model {Config.ModelPath} (from {Path.Combine(Config.Directory, MetaRmConfig.FileName)}) does not have the meta-RM interface: {why}.");

    public void Dispose() => _session.Dispose();
}
