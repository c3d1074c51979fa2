namespace GrmWorker.Storage.Model;

// EF Core read model of migrations/0001_initial.sql (one class per table; columns snake_case).
// Writes go through JobWriter (binary COPY); the schema comes only from migrations.

public sealed class JobRow
{
    public long Id { get; set; }
    public string RequestId { get; set; } = "";
    public string Route { get; set; } = "";
    public string Status { get; set; } = "";
    public string? ErrorCode { get; set; }
    public string? ErrorMessage { get; set; }
    public string? Request { get; set; }
    public string Result { get; set; } = "";
    public string? ModelId { get; set; }
    public string? PromptVersion { get; set; }
    public string? Aggregation { get; set; }
    public int SamplesUsed { get; set; }
    public int SamplesValid { get; set; }
    public bool StoppedEarly { get; set; }
    public double LatencyMs { get; set; }
    public long PromptTokens { get; set; }
    public long GeneratedTokens { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
    public DateTimeOffset CompletedAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public List<ResponseRow> Responses { get; set; } = [];
    public List<SampleRow> Samples { get; set; } = [];
    public List<RewardRow> Rewards { get; set; } = [];
}

public sealed class ResponseRow
{
    public long JobId { get; set; }
    public int ResponseIndex { get; set; }
    public string Text { get; set; } = "";
}

public sealed class SampleRow
{
    public long Id { get; set; }
    public long JobId { get; set; }
    public int SampleIndex { get; set; }
    public long Seed { get; set; }
    public int[] Permutation { get; set; } = [];
    public string RawText { get; set; } = "";
    public string ParseStatus { get; set; } = "";
    public string? ParseReason { get; set; }
    public double? MetaScore { get; set; }
    public int PromptTokens { get; set; }
    public int GeneratedTokens { get; set; }
    public double LatencyMs { get; set; }
    public string PromptVersion { get; set; } = "";
    public List<PrincipleRow> Principles { get; set; } = [];
    public List<CritiqueRow> Critiques { get; set; } = [];
    public List<ScoreRow> Scores { get; set; } = [];
}

public sealed class PrincipleRow
{
    public long JobId { get; set; }
    public int SampleIndex { get; set; }
    public int Ordinal { get; set; }
    public string Text { get; set; } = "";
    public double? Weight { get; set; }
}

public sealed class CritiqueRow
{
    public long JobId { get; set; }
    public int SampleIndex { get; set; }
    public int ResponseIndex { get; set; }
    public string Text { get; set; } = "";
}

public sealed class ScoreRow
{
    public long JobId { get; set; }
    public int SampleIndex { get; set; }
    public int ResponseIndex { get; set; }
    public short Score { get; set; }
}

public sealed class RewardRow
{
    public long Id { get; set; }
    public long JobId { get; set; }
    public string Strategy { get; set; } = "";
    public int ResponseIndex { get; set; }
    public double Value { get; set; }
    public double? VoteSum { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}
