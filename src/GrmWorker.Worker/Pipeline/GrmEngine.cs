using GrmWorker.Inference;
using GrmWorker.Inference.Generation;
using GrmWorker.Inference.Tokenization;
using GrmWorker.Scoring.Prompting;
using GrmWorker.Worker.Hosting;
using Microsoft.Extensions.Options;

namespace GrmWorker.Worker.Pipeline;

/// <summary>
/// The loaded GRM: config, tokenizer, ONNX causal LM and its batched generator. One model, so generations
/// run one at a time; batches of many jobs are what keeps it busy.
/// </summary>
public sealed class GrmEngine : IGrmGenerator, IDisposable
{
    private readonly CausalLm _model;
    private readonly BatchedGenerator _generator;
    private readonly SemaphoreSlim _gate = new(1, 1);

    public GrmEngine(IOptions<ModelOptions> model, IOptions<InferenceOptions> inference)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inference);
        Config = ModelConfig.Load(Path.GetFullPath(model.Value.Directory));
        Tokenizer = Tokenizer.Load(Config.TokenizerPath);
        ContextMargin = model.Value.ContextMargin;
        var chat = Config.Chat;
        Chat = new ChatFormat(chat.SystemPrefix, chat.SystemSuffix, chat.UserPrefix, chat.UserSuffix, chat.AssistantPrefix);
        _model = CausalLm.Load(Config, inference.Value);
        _generator = new BatchedGenerator(_model, GeneratorSettings.From(Config), ids => Tokenizer.Decode(ids, skipSpecialTokens: true));
    }

    public ModelConfig Config { get; }

    public Tokenizer Tokenizer { get; }

    public ChatFormat Chat { get; }

    public int ContextMargin { get; }

    public string ModelId => Config.ModelId;

    public int ContextLength => Config.ContextLength;

    public IReadOnlyList<string> StopStrings => Config.StopStrings;

    /// <summary>Prompt token ids as the model sees them (BOS first when the model has one).</summary>
    public int[] Encode(string prompt)
    {
        var ids = Tokenizer.Encode(prompt);
        return Config.BosTokenId is { } bos ? [bos, .. ids] : ids;
    }

    public int[] EncodeContinuation(string text) => Tokenizer.Encode(text);

    public string Decode(IReadOnlyList<int> ids) => Tokenizer.Decode([.. ids], skipSpecialTokens: true);

    /// <summary>
    /// One batched generation over every job of a round; waits for the model if another batch holds it.
    /// <paramref name="timeout"/> counts from when the model is ours; past it the run stops between steps
    /// and a <see cref="TimeoutException"/> is thrown.
    /// </summary>
    public async Task<GenerationResult> GenerateAsync(IReadOnlyList<GenerationJob> jobs, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(timeout);
            try
            {
                // CPU-bound and synchronous; off the consumer's thread so the bus keeps receiving.
                return await Task.Run(() => _generator.Generate(jobs, limit.Token), limit.Token);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"a generation round took longer than {timeout}", ex);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _model.Dispose();
        _gate.Dispose();
    }
}
