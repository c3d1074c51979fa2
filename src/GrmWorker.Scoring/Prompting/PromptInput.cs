namespace GrmWorker.Scoring.Prompting;

/// <summary>What the GRM is asked to judge, in request order.</summary>
public sealed record PromptInput(string Query, IReadOnlyList<string> Responses, string? Reference = null);
