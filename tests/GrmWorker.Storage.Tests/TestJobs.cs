namespace GrmWorker.Storage.Tests;

internal static class TestJobs
{
    private static readonly DateTimeOffset Received = new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero).AddTicks(1230);

    public static string NewRequestId(string prefix = "req") => $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>A scored job: every sample has principles, a critique and a score per response; voting rewards.</summary>
    public static JobRecord Scored(string requestId, int responses = 3, int samples = 4)
    {
        var sampleRecords = Enumerable.Range(0, samples).Select(s => new SampleRecord
        {
            SampleIndex = s,
            Seed = 1_000_003L * (s + 1),
            Permutation = [.. Enumerable.Range(0, responses).Select(i => (i + s) % responses)],
            RawText = $"Specific Criteria: ...\nAnalysis: sample {s}\nScores: \\boxed{{{string.Join(", ", Enumerable.Range(0, responses).Select(i => Score(s, i)))}}}",
            ParseStatus = s == samples - 1 && samples > 1 ? "wrong_count" : "ok",
            ParseReason = s == samples - 1 && samples > 1 ? "expected 3 scores, found 2" : null,
            MetaScore = s % 2 == 0 ? 0.25 + s : null,
            PromptTokens = 512 + s,
            GeneratedTokens = 200 + (7 * s),
            LatencyMs = 123.456 + s,
            PromptVersion = "grm-v1",
            Principles = [.. Enumerable.Range(0, 1 + (s % 3)).Select(p => new PrincipleRecord(p, $"Principle {p} of sample {s}", p == 0 ? null : 0.1 * p))],
            Critiques = [.. Enumerable.Range(0, responses).Select(i => new CritiqueRecord(i, $"Critique of response {i} by sample {s}"))],
            Scores = s == samples - 1 && samples > 1 ? [] : [.. Enumerable.Range(0, responses).Select(i => new ScoreRecord(i, Score(s, i)))],
        }).ToList();

        return new JobRecord
        {
            RequestId = requestId,
            Route = "trainer.run-7",
            Status = "scored",
            RequestJson = $$$"""{"requestId": "{{{requestId}}}", "query": "What is 2+2?", "metadata": {"step": 7, "tags": ["a", "b"]}}""",
            ResultJson = $$"""{"requestId": "{{requestId}}", "status": "scored", "rewards": [7.5, 3.25, 9]}""",
            ModelId = "grm-tiny@1",
            PromptVersion = "grm-v1",
            Aggregation = "voting",
            SamplesUsed = samples,
            SamplesValid = Math.Max(samples - 1, 0) + (samples == 1 ? 1 : 0),
            StoppedEarly = true,
            LatencyMs = 4321.5,
            PromptTokens = 2048,
            GeneratedTokens = 900,
            ReceivedAt = Received,
            CompletedAt = Received.AddSeconds(4.3215),
            Responses = [.. Enumerable.Range(0, responses).Select(i => $"Response number {i}: 2+2={i + 3}")],
            Samples = sampleRecords,
            Rewards = [.. Enumerable.Range(0, responses).Select(i => new RewardRecord("voting", i, 7.5 - i, 30 - i))],
        };
    }

    /// <summary>A rejected job: no responses stored beyond the request, no samples.</summary>
    public static JobRecord Rejected(string requestId) => new()
    {
        RequestId = requestId,
        Route = "default",
        Status = "rejected",
        ErrorCode = "responses_empty",
        ErrorMessage = "responses must hold 1..64 items",
        RequestJson = $$"""{"requestId": "{{requestId}}", "responses": []}""",
        ResultJson = $$"""{"requestId": "{{requestId}}", "status": "rejected"}""",
        ReceivedAt = Received,
        CompletedAt = Received,
    };

    private static int Score(int sample, int response) => 1 + ((sample * 3 + response * 5) % 10);
}
