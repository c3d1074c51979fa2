using System.Diagnostics;
using GrmWorker.Contracts;
using GrmWorker.Inference.Generation;
using GrmWorker.Inference.Runtime;
using GrmWorker.Inference.Sampling;
using GrmWorker.Scoring.Prompting;
using GrmWorker.Scoring.Sampling;
using GrmWorker.Scoring.Stopping;
using GrmWorker.Worker.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrmWorker.Worker.Pipeline;

/// <summary>
/// Scores a batch of requests: validates each (a bad one becomes a <c>rejected</c> record), then runs rounds
/// in which every unfinished job draws its next samples in ONE batched generation, until each job's stopping
/// rule stops it. Returns one <see cref="FinishedJob"/> per request (its result and samples), in order.
/// Writes and publishes nothing: the consumer does that, so the message is acked only after both.
/// </summary>
public sealed class ScoringPipeline(
    IGrmGenerator engine,
    IOptions<WorkerOptions> worker,
    IOptions<StoppingOptions> stopping,
    IOptions<ValidationLimits> limits,
    TimeProvider time,
    WorkerMetrics metrics,
    ILogger<ScoringPipeline> logger,
    MetaScorerAvailability metaRm)
{
    private readonly PromptBuilder _prompts = new(engine.Chat);

    /// <summary>The GRM's model id, as results and rows name it.</summary>
    public string ModelId => engine.ModelId;

    public async Task<IReadOnlyList<FinishedJob>> RunAsync(IReadOnlyList<IncomingRequest> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var finished = new FinishedJob?[batch.Count];
        var runs = new List<(int Slot, JobRun Run)>();
        // Validation and planning are CPU work (mostly tokenizing prompts), independent per job: spread over cores.
        var parallel = new ParallelOptions { CancellationToken = cancellationToken };
        var prepared = new PreparedJob[batch.Count];
        Parallel.For(0, batch.Count, parallel, i => prepared[i] = Prepare(batch[i]));
        for (var i = 0; i < batch.Count; i++)
        {
            var job = prepared[i];
            if (job.IsRunnable)
            {
                runs.Add((i, job.Run));
                continue;
            }
            var failure = job.Failure;
            WorkerLog.Rejected(logger, batch[i].Request.RequestId, failure.Code, failure.Message);
            finished[i] = JobOutcomes.Rejected(batch[i], failure, limits.Value, engine.ModelId, time.GetUtcNow());
            metrics.JobFinished(ScoreStatus.Rejected, finished[i]!.RunLatencyMs / 1000);
        }

        var round = 0;
        while (runs.Any(r => !r.Run.Done))
        {
            cancellationToken.ThrowIfCancellationRequested();
            round++;
            var active = runs.Where(r => !r.Run.Done).Select(r => r.Run).ToArray();
            var planned = new RoundPlan?[active.Length];
            Parallel.For(0, active.Length, parallel, i => planned[i] = active[i].PlanRound(engine.Encode));
            var plans = planned.OfType<RoundPlan>().ToList();
            if (plans.Count == 0) break;
            var clock = Stopwatch.StartNew();
            GenerationResult generated;
            try
            {
                generated = await engine.GenerateAsync([.. plans.Select(p => p.Job)], worker.Value.RoundTimeout, cancellationToken);
            }
            catch (Exception ex) when (ex is TimeoutException or OrtRuntimeException)
            {
                // Not transient for these jobs: running them again would fail again. Each gets a failed result.
                var code = ex is TimeoutException ? ErrorCodes.GenerationTimeout : ErrorCodes.InferenceError;
                foreach (var plan in plans)
                {
                    WorkerLog.RoundFailed(logger, plan.Run.Request.RequestId, code, ex.Message);
                    plan.Run.Fail(code, ex.Message);
                }
                continue;
            }
            for (var j = 0; j < plans.Count; j++)
                plans[j].Run.Absorb(plans[j], generated.Jobs[j], clock.Elapsed, engine.Decode);
            // Before the next round's planning, where each job's rule looks at its samples (meta scores included).
            await ScoreMetaAsync(plans, cancellationToken);
            metrics.RoundGenerated(generated.Stats.GeneratedTokens, clock.Elapsed, generated.Stats.PeakKvBytes + generated.Stats.PeakLogitsBytes);
            WorkerLog.RoundDone(logger, round, plans.Count, generated.Stats.Rows, generated.Stats.GeneratedTokens, clock.Elapsed.TotalMilliseconds);
        }

        foreach (var (slot, run) in runs)
        {
            var job = finished[slot] = JobOutcomes.Finished(run, engine.ModelId, time.GetUtcNow());
            var result = job.Result;
            metrics.JobFinished(result.Status, job.RunLatencyMs / 1000);
            metrics.SamplesDrawn(result.SamplesUsed, result.SamplesValid, result.StoppedEarly ? run.Rule.Options.KMax - result.SamplesUsed : 0);
            WorkerLog.JobScored(logger, run.Request.RequestId, result.Status, result.SamplesUsed, result.SamplesValid, job.RunLatencyMs);
        }
        return finished.Select(f => f!).ToArray();
    }

    /// <summary>A runnable job, or the reason it is rejected. Runs on several threads at once: reads only. `grm eval` plans with it too.</summary>
    internal PreparedJob Prepare(IncomingRequest incoming)
    {
        var r = incoming.Request;
        var w = worker.Value;
        if (ScoreRequestValidator.Validate(r, limits.Value) is { } failure) return PreparedJob.Rejected(failure);
        if (RequestRules.UnstorableField(r) is { } unstorable) return PreparedJob.Rejected(unstorable);
        var aggregation = r.Aggregation ?? w.DefaultAggregation;
        if (aggregation == AggregationKind.MetaRm && !metaRm.IsAvailable)
            return PreparedJob.Rejected(new ValidationFailure(ErrorCodes.Unsupported,
                $"aggregation '{aggregation}' needs a meta reward model, and this worker has none (setting {MetaRmScorer.DirectorySetting}); use 'voting'"));
        if (aggregation is not (AggregationKind.Voting or AggregationKind.MetaRm))
            return PreparedJob.Rejected(new ValidationFailure(ErrorCodes.Unsupported, $"aggregation '{aggregation}' is not one this worker knows; use 'voting' or 'meta-rm'"));

        var kMax = r.KMax ?? stopping.Value.KMax;
        var kMin = Math.Min(r.KMin ?? stopping.Value.KMin, kMax);
        var rule = StoppingRules.For(r.Stopping ?? w.DefaultStopping, stopping.Value with { KMax = kMax, KMin = kMin });
        var maxNew = r.MaxNewTokens ?? w.DefaultMaxNewTokens;
        var identity = Permutation.Identity(r.Responses.Count);
        var identityPieces = _prompts.BuildPieces(new PromptInput(r.Query, r.Responses, r.Reference), identity);
        var identityIds = engine.Encode(string.Concat(identityPieces));
        var promptTokens = identityIds.Length;
        var context = engine.ContextLength;
        if (promptTokens + maxNew + engine.ContextMargin > context)
        {
            return PreparedJob.Rejected(new ValidationFailure(ErrorCodes.TooLarge,
                $"query, responses and reference take {promptTokens} prompt tokens; with maxNewTokens {maxNew} that exceeds the model context of {context} tokens"));
        }
        var temperature = (float)(r.Temperature ?? w.DefaultTemperature);
        var sampling = new SamplingOptions { Temperature = temperature, TopP = (float)w.TopP };
        var run = new JobRun(incoming, _prompts, rule, aggregation, sampling, maxNew, engine.StopStrings);
        run.RememberEncoded(identity, identityIds, PromptPieceEncoder.TryCreate(identityPieces, identityIds, engine.Encode, engine.EncodeContinuation));
        return PreparedJob.Runnable(run);
    }

    /// <summary>
    /// Meta scores for the round's new valid samples, all jobs in one call. A meta-RM runtime failure fails the
    /// round's jobs (as a generation failure does): running them again would fail again.
    /// </summary>
    private async Task ScoreMetaAsync(IReadOnlyList<RoundPlan> plans, CancellationToken cancellationToken)
    {
        if (!metaRm.IsAvailable) return;
        var clock = Stopwatch.StartNew();
        try
        {
            var (samples, jobs) = await MetaRmBatch.ScorePendingAsync(metaRm.Scorer, plans.Select(p => p.Run), cancellationToken);
            if (samples > 0) WorkerLog.MetaScored(logger, samples, jobs, clock.Elapsed.TotalMilliseconds);
        }
        catch (OrtRuntimeException ex)
        {
            // The runs whose samples are still unscored are the ones this call was for.
            foreach (var run in plans.Select(p => p.Run).Where(r => r.PendingMetaInputs().Count > 0))
            {
                WorkerLog.RoundFailed(logger, run.Request.RequestId, ErrorCodes.InferenceError, "meta-RM: " + ex.Message);
                run.Fail(ErrorCodes.InferenceError, "meta-RM: " + ex.Message);
            }
        }
    }
}
