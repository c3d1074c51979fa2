namespace GrmWorker.Storage;

// What JobWriter stores and JobReader gives back: one finished job with everything the GRM wrote.
// Indices are 0-based; every ResponseIndex is the index in the REQUEST (permutations undone).

/// <summary>One finished job (scored, rejected or failed) and all its rows.</summary>
public sealed record JobRecord
{
    public required string RequestId { get; init; }
    public required string Route { get; init; }
    /// <summary><c>scored</c> | <c>rejected</c> | <c>failed</c>; anything but scored carries an <see cref="ErrorCode"/>.</summary>
    public required string Status { get; init; }
    public string? ErrorCode { get; init; }
    public string? ErrorMessage { get; init; }
    /// <summary>The request body (JSON) as received; stored as jsonb.</summary>
    public string? RequestJson { get; init; }
    /// <summary>The result (JSON) as published; published again for a duplicate requestId. Stored as jsonb.</summary>
    public required string ResultJson { get; init; }
    public string? ModelId { get; init; }
    public string? PromptVersion { get; init; }
    /// <summary><c>voting</c> | <c>meta-rm</c>, null when the job never aggregated (rejected).</summary>
    public string? Aggregation { get; init; }
    public int SamplesUsed { get; init; }
    public int SamplesValid { get; init; }
    public bool StoppedEarly { get; init; }
    public double LatencyMs { get; init; }
    public long PromptTokens { get; init; }
    public long GeneratedTokens { get; init; }
    public required DateTimeOffset ReceivedAt { get; init; }
    public required DateTimeOffset CompletedAt { get; init; }
    /// <summary>Response texts in request order.</summary>
    public IReadOnlyList<string> Responses { get; init; } = [];
    public IReadOnlyList<SampleRecord> Samples { get; init; } = [];
    public IReadOnlyList<RewardRecord> Rewards { get; init; } = [];
}

/// <summary>One GRM sample. <see cref="Permutation"/>[p] is the request index of the response shown at position p.</summary>
public sealed record SampleRecord
{
    public required int SampleIndex { get; init; }
    public required long Seed { get; init; }
    public required IReadOnlyList<int> Permutation { get; init; }
    public required string RawText { get; init; }
    /// <summary>The parser's outcome, e.g. <c>ok</c>; only ok samples vote.</summary>
    public required string ParseStatus { get; init; }
    public string? ParseReason { get; init; }
    public double? MetaScore { get; init; }
    public int PromptTokens { get; init; }
    public int GeneratedTokens { get; init; }
    public double LatencyMs { get; init; }
    public required string PromptVersion { get; init; }
    public IReadOnlyList<PrincipleRecord> Principles { get; init; } = [];
    public IReadOnlyList<CritiqueRecord> Critiques { get; init; } = [];
    public IReadOnlyList<ScoreRecord> Scores { get; init; } = [];
}

/// <summary>A principle the GRM wrote; <see cref="Weight"/> is a fraction (0.3 for "30%") or null.</summary>
public sealed record PrincipleRecord(int Ordinal, string Text, double? Weight);

public sealed record CritiqueRecord(int ResponseIndex, string Text);

/// <summary>A score 1..10 one sample gave one response.</summary>
public sealed record ScoreRecord(int ResponseIndex, int Score);

/// <summary>The reward of one response under one aggregation strategy (e.g. <c>voting</c>, <c>meta-rm:k4</c>).</summary>
public sealed record RewardRecord(string Strategy, int ResponseIndex, double Value, double? VoteSum);

/// <summary>What a write did: <see cref="Created"/> false means the requestId was stored before and nothing was written; <see cref="ResultJson"/> is then the stored result.</summary>
public sealed record JobWriteResult(long JobId, bool Created, string ResultJson);

/// <summary>The stored outcome of a requestId: enough to publish its result again.</summary>
public sealed record StoredResult(long JobId, string RequestId, string Route, string Status, string ResultJson);

/// <summary>A stored job read back with its database id and insertion time.</summary>
public sealed record StoredJob(long JobId, DateTimeOffset CreatedAt, JobRecord Job);
