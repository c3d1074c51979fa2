namespace GrmWorker.Scoring.Parsing;

/// <summary>One criterion the GRM wrote for itself; <see cref="Weight"/> is a fraction (0.3 for "30%") when given.</summary>
public sealed record Principle(string Text, double? Weight);
