using System.Diagnostics;
using GrmWorker.Contracts;
using GrmWorker.Inference.Generation;
using GrmWorker.Inference.Sampling;
using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Parsing;
using GrmWorker.Scoring.Prompting;
using GrmWorker.Scoring.Sampling;
using GrmWorker.Scoring.Stopping;

namespace GrmWorker.Worker.Pipeline;

/// <summary>
/// One valid job while it is being scored: its settings, the samples drawn so far and the stopping rule.
/// One way through a round: <see cref="PlanRound"/> asks the rule about the samples so far and, unless it stops, asks
/// for <see cref="StoppingOptions.NextDrawCount"/> more (one generation job, the prompt tokens the samples share
/// prefilled once); <see cref="Absorb"/> parses what was generated; meta scores, when the worker has a meta-RM, are
/// set in between (<see cref="PendingMetaInputs"/>, <see cref="SetMetaScore"/>), so the rule sees them next round.
/// </summary>
internal sealed class JobRun
{
    private readonly List<GrmSample> _samples = [];
    private readonly List<DrawnSample> _drawn = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    // Prompt ids by shown order: samples that draw the same order (or the identity order the size check encoded)
    // reuse the ids instead of tokenizing the same prompt again.
    private readonly Dictionary<string, int[]> _encoded = new(StringComparer.Ordinal);
    private PromptPieceEncoder? _pieces;
    // Samples were absorbed since the rule last looked at them.
    private bool _undecided;

    public JobRun(IncomingRequest incoming, PromptBuilder prompts, IStoppingRule rule, string aggregation,
        SamplingOptions sampling, int maxNewTokens, IReadOnlyList<string> stopStrings)
    {
        Incoming = incoming;
        var r = incoming.Request;
        Input = new PromptInput(r.Query, r.Responses, r.Reference);
        Prompts = prompts;
        Rule = rule;
        Aggregation = aggregation;
        Sampling = sampling;
        MaxNewTokens = maxNewTokens;
        StopStrings = stopStrings;
        JobSeed = SeedDerivation.JobSeed(r.RequestId, r.Seed);
    }

    public IncomingRequest Incoming { get; }

    /// <summary>
    /// Records the identity order's ids (the size check's encoding) and, when it is exact for this job, the piece
    /// encoder that assembles the other orders' ids without tokenizing their whole prompts.
    /// </summary>
    public void RememberEncoded(Permutation identity, int[] ids, PromptPieceEncoder? pieces)
    {
        _encoded.TryAdd(OrderKey(identity), ids);
        _pieces = pieces;
    }

    public ScoreRequest Request => Incoming.Request;

    public PromptInput Input { get; }

    public PromptBuilder Prompts { get; }

    public IStoppingRule Rule { get; }

    public string Aggregation { get; }

    public SamplingOptions Sampling { get; }

    public int MaxNewTokens { get; }

    public IReadOnlyList<string> StopStrings { get; }

    public long JobSeed { get; }

    public int ResponseCount => Input.Responses.Count;

    public bool Done { get; private set; }

    public StoppingDecision? LastDecision { get; private set; }

    /// <summary>Set when the job could not be finished (a round timed out, the runtime failed): it ends <c>failed</c>.</summary>
    public ScoreError? Failure { get; private set; }

    public void Fail(string code, string message)
    {
        Failure = new ScoreError(code, message);
        Done = true;
    }

    public IReadOnlyList<GrmSample> Samples => _samples;

    /// <summary>The samples of <see cref="Samples"/> with their stored text, token counts and round time, in the same order.</summary>
    public IReadOnlyList<DrawnSample> Drawn => _drawn;

    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>
    /// The next round's samples as one generation job, or null (the job is then <see cref="Done"/>) when the rule stops
    /// on the samples so far or wants none. Touches only this run.
    /// </summary>
    public RoundPlan? PlanRound(Func<string, int[]> encode)
    {
        if (_undecided)
        {
            _undecided = false;
            LastDecision = Rule.Evaluate(_samples, ResponseCount);
            if (LastDecision.Stop)
            {
                Done = true;
                return null;
            }
        }
        var count = Rule.Options.NextDrawCount(_samples.Count, LastDecision);
        if (count <= 0)
        {
            Done = true;
            return null;
        }
        var specs = new SampleSpec[count];
        for (var i = 0; i < count; i++)
        {
            var index = _samples.Count + i;
            var seed = SeedDerivation.SampleSeed(JobSeed, index);
            var permutation = Permutation.FromSeed(ResponseCount, seed);
            var key = OrderKey(permutation);
            if (!_encoded.TryGetValue(key, out var ids))
            {
                _encoded[key] = ids = _pieces is not null
                    ? _pieces.Encode(Prompts.BuildPieces(Input, permutation))
                    : encode(Prompts.Build(Input, permutation));
            }
            specs[i] = new SampleSpec(index, seed, permutation, ids);
        }
        // The samples differ only from the first shown response on: share the common token prefix.
        var prefix = CommonPrefixLength(specs);
        var job = new GenerationJob(
            specs[0].PromptIds[..prefix],
            [.. specs.Select(s => new GenerationSample(unchecked((ulong)s.Seed), s.PromptIds.Length > prefix ? s.PromptIds[prefix..] : null))],
            Sampling,
            MaxNewTokens) { StopStrings = StopStrings };
        return new RoundPlan(this, specs, job);
    }

    /// <summary>Parses a round's generated samples; the rule looks at them when the next round is planned.</summary>
    public void Absorb(RoundPlan plan, IReadOnlyList<GeneratedSample> generated, TimeSpan roundTime, Func<IReadOnlyList<int>, string> decode)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(generated);
        ArgumentNullException.ThrowIfNull(decode);
        for (var i = 0; i < plan.Samples.Count; i++)
        {
            var spec = plan.Samples[i];
            var output = generated[i];
            var text = RequestRules.Storable(output.Text ?? decode(output.Tokens));
            var parsed = GrmOutputParser.Parse(text, ResponseCount);
            var sample = GrmSample.FromParsed(spec.Index, spec.Seed, spec.Permutation, parsed);
            _samples.Add(sample);
            _drawn.Add(new DrawnSample(sample, text, spec.PromptIds.Length, output.Tokens.Count, roundTime));
        }
        _undecided = true;
    }

    /// <summary>
    /// The meta-RM input of every valid sample without a meta score yet: its position in <see cref="Samples"/> and
    /// <see cref="MetaRmInput.Build"/> over the query, the responses in the sample's shown order and its stored text.
    /// </summary>
    public IReadOnlyList<(int Position, string Text)> PendingMetaInputs()
    {
        var pending = new List<(int, string)>();
        for (var i = 0; i < _samples.Count; i++)
        {
            var sample = _samples[i];
            if (sample.IsValid && sample.MetaScore is null)
                pending.Add((i, MetaRmInput.Build(Input.Query, sample.Permutation.ToShown(Input.Responses), _drawn[i].RawText)));
        }
        return pending;
    }

    /// <summary>Sets the meta score of the sample at <paramref name="position"/>.</summary>
    public void SetMetaScore(int position, double metaScore)
    {
        _samples[position] = _samples[position] with { MetaScore = metaScore };
        _drawn[position] = _drawn[position] with { Sample = _samples[position] };
    }

    private static string OrderKey(Permutation permutation) => string.Join(',', permutation.Order);

    private static int CommonPrefixLength(SampleSpec[] specs)
    {
        var first = specs[0].PromptIds;
        var length = specs.Min(s => s.PromptIds.Length);
        for (var s = 1; s < specs.Length; s++)
        {
            var ids = specs[s].PromptIds;
            var n = 0;
            while (n < length && ids[n] == first[n]) n++;
            length = n;
        }
        // The shared prompt must not be empty; a row whose whole prompt is shared has no suffix.
        return Math.Max(1, length);
    }
}

/// <summary>One sample to draw: its index in the job, seed, shown order and full prompt ids.</summary>
internal sealed record SampleSpec(int Index, long Seed, Permutation Permutation, int[] PromptIds);

/// <summary>A job's share of one round: its samples and the generation job that draws them.</summary>
internal sealed record RoundPlan(JobRun Run, IReadOnlyList<SampleSpec> Samples, GenerationJob Job);
