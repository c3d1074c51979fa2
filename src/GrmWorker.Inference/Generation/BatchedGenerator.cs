using GrmWorker.Inference.Sampling;

namespace GrmWorker.Inference.Generation;

/// <summary>
/// Generates for many rows in one forward pass per step. Either call <see cref="Generate"/>, or drive the
/// loop yourself (onnxruntime-genai style): <c>using var run = generator.Start(jobs); run.Prefill(ct);
/// while (!run.IsDone) run.Step(ct); run.GetResult()</c>.
/// </summary>
public sealed class BatchedGenerator(CausalLm model, GeneratorSettings settings, TokenDecoder? decoder = null)
{
    public CausalLm Model { get; } = model;

    public GeneratorSettings Settings { get; } = settings;

    public GenerationRun Start(IReadOnlyList<GenerationJob> jobs) => new(Model, Settings, decoder, jobs);

    /// <summary>Runs the whole generation; the token is checked between steps (and stops a running forward pass).</summary>
    public GenerationResult Generate(IReadOnlyList<GenerationJob> jobs, CancellationToken cancellationToken)
    {
        using var run = Start(jobs);
        run.Prefill(cancellationToken);
        while (!run.IsDone)
        {
            cancellationToken.ThrowIfCancellationRequested();
            run.Step(cancellationToken);
        }
        return run.GetResult();
    }

    /// <summary>One prompt, one row.</summary>
    public GeneratedSample Generate(IReadOnlyList<int> promptIds, SamplingOptions sampling, int maxNewTokens, ulong seed, CancellationToken cancellationToken) =>
        Generate([GenerationJob.Create(promptIds, 1, seed, sampling, maxNewTokens)], cancellationToken).Jobs[0][0];
}
