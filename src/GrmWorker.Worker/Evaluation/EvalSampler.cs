using System.Diagnostics;
using System.Runtime.CompilerServices;
using GrmWorker.Contracts;
using GrmWorker.Inference.Generation;
using GrmWorker.Inference.Sampling;
using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Parsing;
using GrmWorker.Scoring.Sampling;
using GrmWorker.Worker.Pipeline;

namespace GrmWorker.Worker.Evaluation;

/// <summary>
/// Draws each item's k_max samples exactly as the worker would for a request with the item's id (or a seed) and
/// <c>kMax = k_max</c>: <see cref="ScoringPipeline.Prepare"/> builds the job (validation, context check, sampling
/// options, seeds) and <see cref="JobRun"/> plans the samples (seeded permutation, prompt, shared prefix) and parses
/// them. Each item also gets one greedy sample (temperature 0, responses in request order). Several items' jobs go
/// into ONE batched generation; the meta-RM, when there is one, then scores every valid sample as the worker does
/// (<see cref="JobRun.PendingMetaInputs"/>, one call per batch).
/// </summary>
internal sealed class EvalSampler(IGrmGenerator generator, ScoringPipeline pipeline, EvalSamplingSettings settings, IMetaScorer? metaScorer)
{
    /// <summary>
    /// Checks every item as the worker would (limits, context length) before anything runs; the first item it would
    /// reject throws an <see cref="EvalDataException"/> naming its line.
    /// </summary>
    public void Validate(string file, IReadOnlyList<EvalItem> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        foreach (var item in items) Prepare(file, item);
    }

    /// <summary>Items in file order, a batch of them per generation. Jobs are prepared per batch, so memory stays flat.</summary>
    public async IAsyncEnumerable<DrawnBatch> DrawAsync(string file, IReadOnlyList<EvalItem> items, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        var perBatch = Math.Max(1, settings.BatchRows / (settings.KMax + 1));
        for (var start = 0; start < items.Count; start += perBatch)
        {
            var batch = items.Skip(start).Take(perBatch).ToArray();
            yield return await DrawBatchAsync(batch, [.. batch.Select(item => Prepare(file, item))], cancellationToken);
        }
    }

    private JobRun Prepare(string file, EvalItem item)
    {
        var job = pipeline.Prepare(new IncomingRequest(RequestFor(item), null, DateTimeOffset.UtcNow));
        return job.IsRunnable
            ? job.Run
            : throw new EvalDataException(file, item.Line, null, $"the worker would reject this item ({job.Failure.Code}): {job.Failure.Message}");
    }

    /// <summary>The request the worker would get for an item: its id as requestId, or the base seed plus its index.</summary>
    public ScoreRequest RequestFor(EvalItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return new ScoreRequest
        {
            RequestId = item.Id ?? $"eval-item-{item.Index}",
            Seed = item.Id is null ? settings.SeedBase + item.Index : null,
            Query = item.Query,
            Responses = item.Responses,
            Reference = item.Reference,
            KMax = settings.KMax,
            KMin = settings.KMax,
            Temperature = settings.Temperature,
            MaxNewTokens = settings.MaxNewTokens,
            // All k_max samples in one round; adaptive stopping is replayed on them afterwards (EvalMetrics).
            Stopping = StoppingKind.None,
            Aggregation = AggregationKind.Voting,
        };
    }

    private async Task<DrawnBatch> DrawBatchAsync(EvalItem[] items, JobRun[] runs, CancellationToken cancellationToken)
    {
        var plans = runs.Select(r => r.PlanRound(generator.Encode) ?? throw new InvalidOperationException("a k_max job planned no samples")).ToArray();
        var identity = runs.Select(r => Permutation.Identity(r.ResponseCount)).ToArray();
        var greedyJobs = runs.Select((r, i) => new GenerationJob(
            generator.Encode(r.Prompts.Build(r.Input, identity[i])),
            [new GenerationSample(unchecked((ulong)r.JobSeed))],
            SamplingOptions.GreedyDecoding,
            r.MaxNewTokens) { StopStrings = r.StopStrings }).ToArray();

        var clock = Stopwatch.StartNew();
        // An evaluation batch may take longer than a worker round; only cancellation stops it.
        var generated = await generator.GenerateAsync([.. plans.Select(p => p.Job), .. greedyJobs], Timeout.InfiniteTimeSpan, cancellationToken);
        var generationTime = clock.Elapsed;

        for (var i = 0; i < items.Length; i++)
            runs[i].Absorb(plans[i], generated.Jobs[i], generationTime, generator.Decode);
        if (metaScorer is not null) await MetaRmBatch.ScorePendingAsync(metaScorer, runs, cancellationToken);

        var drawn = new DrawnItem[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            var greedyOutput = generated.Jobs[items.Length + i][0];
            var greedyText = greedyOutput.Text ?? generator.Decode(greedyOutput.Tokens);
            var greedy = GrmSample.FromParsed(0, runs[i].JobSeed, identity[i], GrmOutputParser.Parse(greedyText, items[i].ResponseCount));
            var samples = runs[i].Drawn;
            drawn[i] = new DrawnItem(
                new ItemSamples(items[i], [.. runs[i].Samples], greedy),
                [.. samples.Select(s => s.RawText)],
                [.. samples.Select(s => s.GeneratedTokens)],
                greedyText,
                greedyOutput.Tokens.Count);
        }
        return new DrawnBatch(drawn, generated.Stats, generationTime);
    }
}

/// <summary>How items are sampled: the worker's request fields plus how many generation rows to batch.</summary>
public sealed record EvalSamplingSettings(int KMax, double Temperature, int MaxNewTokens, int BatchRows, long SeedBase);

/// <summary>One item's samples with what only the sample dump needs: texts and generated token counts.</summary>
public sealed record DrawnItem(ItemSamples Samples, IReadOnlyList<string> Texts, IReadOnlyList<int> GeneratedTokens, string GreedyText, int GreedyTokens);

/// <summary>The items of one batched generation, its stats and how long it took.</summary>
public sealed record DrawnBatch(IReadOnlyList<DrawnItem> Items, GenerationStats Stats, TimeSpan GenerationTime);
