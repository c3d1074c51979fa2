namespace GrmWorker.Contracts;

/// <summary>The string values the wire contract uses for <c>status</c>.</summary>
public static class ScoreStatus
{
    public const string Scored = "scored";
    public const string Rejected = "rejected";
    public const string Failed = "failed";
}

/// <summary>The string values the wire contract uses for <c>aggregation</c>.</summary>
public static class AggregationKind
{
    public const string Voting = "voting";
    public const string MetaRm = "meta-rm";

    public static bool IsKnown(string? value) => value is Voting or MetaRm;
}

/// <summary>The string values the wire contract uses for <c>stopping</c>.</summary>
public static class StoppingKind
{
    public const string Adaptive = "adaptive";
    public const string None = "none";

    public static bool IsKnown(string? value) => value is Adaptive or None;
}
