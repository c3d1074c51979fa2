namespace GrmWorker.Worker.Evaluation;

/// <summary>
/// One held-out judging item: a query, its candidate responses and which one is best (0-based).
/// <see cref="Index"/> counts items in file order (blank lines skipped); <see cref="Line"/> is the 1-based file line.
/// </summary>
public sealed record EvalItem(int Index, int Line, string? Id, string Query, IReadOnlyList<string> Responses, int Best, string? Reference = null)
{
    public int ResponseCount => Responses.Count;
}
