using GrmWorker.Inference.Runtime;
using GrmWorker.Inference.Sampling;

namespace GrmWorker.Inference.Generation;

/// <summary>
/// Generates for many rows in one forward pass per step. Either call <see cref="Generate"/>, which runs the rows
/// in waves that keep the KV cache within <see cref="CausalLm.KvCacheBudget"/>, or drive one run yourself
/// (onnxruntime-genai style, no budget applied): <c>using var run = generator.Start(jobs); run.Prefill(ct);
/// while (!run.IsDone) run.Step(ct); run.GetResult()</c>.
/// </summary>
public sealed class BatchedGenerator(CausalLm model, GeneratorSettings settings, TokenDecoder? decoder = null)
{
    public CausalLm Model { get; } = model;

    public GeneratorSettings Settings { get; } = settings;

    public GenerationRun Start(IReadOnlyList<GenerationJob> jobs) => new(Model, Settings, decoder, jobs);

    /// <summary>
    /// Runs the whole generation, in as many waves as the KV budget needs (each row gives the same tokens whatever
    /// wave it runs in); the token is checked between steps and stops a running forward pass.
    /// </summary>
    public GenerationResult Generate(IReadOnlyList<GenerationJob> jobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var cost = new WaveCost(Model.KvBytesPerToken, Model.LogitsBytesPerPosition, Settings.ContextLength, Settings.SharePrefix, Model.LogitsEveryPosition);
        var waves = KvWavePlanner.Plan(jobs, cost, Model.KvCacheBudget);
        try
        {
            return waves.Count == 1 ? RunOnce(jobs, cancellationToken) : RunWaves(jobs, waves, cancellationToken);
        }
        finally
        {
            // the runs' tensors are freed now (InferenceOptions.NativeHeapTrimInterval)
            NativeHeap.TrimIfDue(Model.Options.NativeHeapTrimInterval);
        }
    }

    private GenerationResult RunWaves(IReadOnlyList<GenerationJob> jobs, IReadOnlyList<IReadOnlyList<WaveRow>> waves, CancellationToken cancellationToken)
    {
        var samples = jobs.Select(j => new GeneratedSample[j.Samples.Count]).ToArray();
        var stats = new List<GenerationStats>(waves.Count);
        foreach (var wave in waves)
        {
            var byJob = wave.GroupBy(r => r.Job).ToArray();
            var subJobs = byJob.Select(g => jobs[g.Key] with { Samples = [.. g.Select(r => jobs[g.Key].Samples[r.Sample])] }).ToArray();
            var result = RunOnce(subJobs, cancellationToken);
            for (var i = 0; i < byJob.Length; i++)
            {
                var rows = byJob[i].ToArray();
                foreach (var sample in result.Jobs[i])
                {
                    var origin = rows[sample.SampleIndex];
                    samples[origin.Job][origin.Sample] = sample with { JobIndex = origin.Job, SampleIndex = origin.Sample };
                }
            }
            stats.Add(result.Stats);
        }
        return new GenerationResult(samples, GenerationStats.Sum(stats));
    }

    private GenerationResult RunOnce(IReadOnlyList<GenerationJob> jobs, CancellationToken cancellationToken)
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
