using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using GrmWorker.Inference;
using GrmWorker.Inference.Generation;
using GrmWorker.Inference.Tokenization;
using GrmWorker.Scoring.Prompting;
using GrmWorker.Scoring.Sampling;
using GrmWorker.Worker.Pipeline;

namespace GrmWorker.Testing;

/// <summary>
/// A test double for the GRM: canned GRM sample texts, no model runs (nothing to do with `grm replay`, which
/// re-aggregates samples stored in Postgres). A sample's text is looked up by its seed, which the
/// pipeline derives from the requestId, the request's seed and the sample index, so a text stored with
/// <see cref="Add"/> comes back for exactly that sample; an unknown seed gets an empty text (an unparsable sample).
/// Prompts are encoded with the model's real tokenizer, so prompt token counts and the context check stay real.
/// For measuring and testing everything around the model (broker, validation, parsing, voting, Postgres, publish).
/// </summary>
public sealed class CannedGrmGenerator : IGrmGenerator
{
    private readonly ModelConfig _config;
    private readonly Tokenizer _tokenizer;
    private readonly ConcurrentDictionary<long, StoredSample> _samples = new();

    public CannedGrmGenerator(ModelConfig config, Tokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        _tokenizer = tokenizer;
        var chat = config.Chat;
        Chat = new ChatFormat(chat.SystemPrefix, chat.SystemSuffix, chat.UserPrefix, chat.UserSuffix, chat.AssistantPrefix);
    }

    /// <summary>The config and tokenizer of a model directory; its weights are not loaded.</summary>
    public static CannedGrmGenerator Load(string modelDirectory)
    {
        var config = ModelConfig.Load(Path.GetFullPath(modelDirectory));
        return new CannedGrmGenerator(config, Tokenizer.Load(config.TokenizerPath));
    }

    public string ModelId => _config.ModelId;

    public ChatFormat Chat { get; }

    public int ContextLength => _config.ContextLength;

    public int ContextMargin => 0;

    public IReadOnlyList<string> StopStrings => _config.StopStrings;

    public int Count => _samples.Count;

    /// <summary>Stores the text sample <paramref name="sampleIndex"/> of a request will "generate"; its token count is the tokenizer's.</summary>
    public void Add(string requestId, long? requestSeed, int sampleIndex, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var seed = SeedDerivation.SampleSeed(SeedDerivation.JobSeed(requestId, requestSeed), sampleIndex);
        _samples[seed] = new StoredSample(text, new int[_tokenizer.Encode(text).Length]);
    }

    /// <summary>
    /// Stores <paramref name="samples"/> GRM-shaped texts for a request: principles, a critique per response and a
    /// <c>Scores: \boxed{..}</c> line in the order the sample shows the responses. <paramref name="score"/> gives
    /// (sample index, response index in the REQUEST) → 1..10.
    /// </summary>
    public void AddScored(string requestId, long? requestSeed, int responseCount, int samples, Func<int, int, int> score)
    {
        ArgumentNullException.ThrowIfNull(score);
        var jobSeed = SeedDerivation.JobSeed(requestId, requestSeed);
        for (var j = 0; j < samples; j++)
        {
            var shown = Permutation.FromSeed(responseCount, SeedDerivation.SampleSeed(jobSeed, j)).ToShown(
                Enumerable.Range(0, responseCount).Select(i => score(j, i)).ToArray());
            Add(requestId, requestSeed, j, WriteSample(shown));
        }
    }

    /// <summary>A sample text as the GRM writes it, for scores in shown order.</summary>
    public static string WriteSample(IReadOnlyList<int> shownScores)
    {
        ArgumentNullException.ThrowIfNull(shownScores);
        var text = new StringBuilder();
        text.Append("Specific Criteria:\n")
            .Append("1. Correctness: the answer is factually and logically right for the query as asked (40%).\n")
            .Append("2. Completeness: every part of the query is addressed, edge cases included (25%).\n")
            .Append("3. Clarity: the answer is organised, concise and easy to follow (20%).\n")
            .Append("4. Safety: no harmful, misleading or overconfident advice (15%).\n")
            .Append("Analysis:\n");
        for (var p = 0; p < shownScores.Count; p++)
        {
            var s = shownScores[p];
            var verdict = s >= 8 ? "is correct and complete, with a clear structure" : s >= 5 ? "is mostly right but misses an edge case" : "contains a factual error that changes the answer";
            text.Append(CultureInfo.InvariantCulture,
                $"- **Response {p + 1}**: The response {verdict}. Measured against the criteria above it earns {s} of 10: correctness weighs most, then completeness; clarity and safety are adequate.\n");
        }
        return text.Append(CultureInfo.InvariantCulture, $"Scores: \\boxed{{{string.Join(", ", shownScores)}}}\n").ToString();
    }

    public int[] Encode(string prompt)
    {
        var ids = _tokenizer.Encode(prompt);
        return _config.BosTokenId is { } bos ? [bos, .. ids] : ids;
    }

    public int[] EncodeContinuation(string text) => _tokenizer.Encode(text);

    public string Decode(IReadOnlyList<int> ids) => _tokenizer.Decode([.. ids], skipSpecialTokens: true);

    public Task<GenerationResult> GenerateAsync(IReadOnlyList<GenerationJob> jobs, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        cancellationToken.ThrowIfCancellationRequested();
        int rows = 0, promptTokens = 0, generatedTokens = 0, steps = 0;
        var results = new IReadOnlyList<GeneratedSample>[jobs.Count];
        for (var j = 0; j < jobs.Count; j++)
        {
            var job = jobs[j];
            var samples = new GeneratedSample[job.Samples.Count];
            for (var i = 0; i < samples.Length; i++)
            {
                var stored = _samples.GetValueOrDefault(unchecked((long)job.Samples[i].Seed), StoredSample.Missing);
                samples[i] = new GeneratedSample(j, i, stored.Tokens, stored.Text, FinishReason.Eos);
                rows++;
                promptTokens += job.PromptIds.Count + (job.Samples[i].SuffixIds?.Count ?? 0);
                generatedTokens += stored.Tokens.Length;
                steps = Math.Max(steps, stored.Tokens.Length);
            }
            results[j] = samples;
        }
        var stats = new GenerationStats(rows, promptTokens, promptTokens, generatedTokens, steps, TimeSpan.Zero, TimeSpan.Zero);
        return Task.FromResult(new GenerationResult(results, stats));
    }

    private sealed record StoredSample(string Text, int[] Tokens)
    {
        public static readonly StoredSample Missing = new("", []);
    }
}
