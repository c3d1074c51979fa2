using System.Text.Json.Nodes;

namespace GrmWorker.Bench.Pipeline;

/// <summary>The pipeline bench's settings (its flags).</summary>
internal sealed record PipelineSettings(int Jobs, int Responses, int Samples, int ModelJobs, int Concurrency, int Repeats);

/// <summary>A failure the bench reports in one line (exit 1).</summary>
internal sealed class BenchException(string message, Exception? inner = null) : Exception(message, inner);

internal sealed record PipelineFigures(int Jobs, TimeSpan Wall, IReadOnlyDictionary<string, long> Rows, IReadOnlyDictionary<string, int> Statuses, IReadOnlyList<string> RequestIds)
{
    /// <summary>Every timed round's wall time, in run order; <see cref="Wall"/> is their median.</summary>
    public IReadOnlyList<TimeSpan> AllWalls { get; init; } = [Wall];

    /// <summary>What the JIT compiled during this round (<see cref="AllJit"/>: every timed round's).</summary>
    public JitFigures Jit { get; init; } = new(0, TimeSpan.Zero);

    public IReadOnlyList<JitFigures> AllJit { get; init; } = [];

    public long TotalRows => Rows.Values.Sum();

    public bool AllScored => Statuses.Count == 1 && Statuses.ContainsKey("scored");

    public string StatusText => string.Join(", ", Statuses.OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => $"{x.Key} {x.Value}"));

    public JsonObject ToJson() => new()
    {
        ["seconds"] = Math.Round(Wall.TotalSeconds, 3),
        ["roundSeconds"] = new JsonArray([.. AllWalls.Select(w => (JsonNode?)Math.Round(w.TotalSeconds, 3))]),
        ["roundJitMethods"] = new JsonArray([.. AllJit.Select(j => (JsonNode?)j.Methods)]),
        ["jobsPerSecond"] = Math.Round(Jobs / Wall.TotalSeconds, 1),
        ["rows"] = TotalRows,
        ["rowsPerSecond"] = Math.Round(TotalRows / Wall.TotalSeconds),
        ["rowsPerTable"] = new JsonObject(Rows.Select(r => KeyValuePair.Create(r.Key, (JsonNode?)r.Value))),
        ["statuses"] = new JsonObject(Statuses.Select(r => KeyValuePair.Create(r.Key, (JsonNode?)r.Value))),
    };
}

internal sealed record JitFigures(long Methods, TimeSpan Time);

internal sealed record CopyFigures(TimeSpan Wall, IReadOnlyDictionary<string, long> Rows)
{
    public IReadOnlyList<TimeSpan> AllWalls { get; init; } = [Wall];

    public long TotalRows => Rows.Values.Sum();

    public JsonObject ToJson() => new()
    {
        ["seconds"] = Math.Round(Wall.TotalSeconds, 3),
        ["roundSeconds"] = new JsonArray([.. AllWalls.Select(w => (JsonNode?)Math.Round(w.TotalSeconds, 3))]),
        ["rows"] = TotalRows,
        ["rowsPerSecond"] = Math.Round(TotalRows / Wall.TotalSeconds),
    };
}

internal sealed record ModelFigures(string ModelId, int Jobs, double WallMs, double GenerationMs, IReadOnlyDictionary<string, int> Statuses,
    double MeanSamples, double MeanGeneratedTokens)
{
    public double OverheadPercent => (WallMs - GenerationMs) / GenerationMs * 100;

    public string StatusText => string.Join(", ", Statuses.OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => $"{x.Key} {x.Value}"));

    public JsonObject ToJson() => new()
    {
        ["modelId"] = ModelId,
        ["jobs"] = Jobs,
        ["settings"] = "worker defaults (adaptive stopping, Stopping:KMax, Worker:DefaultMaxNewTokens)",
        ["meanSamplesPerJob"] = Math.Round(MeanSamples, 2),
        ["meanGeneratedTokensPerJob"] = Math.Round(MeanGeneratedTokens, 1),
        ["wallMsPerJob"] = Math.Round(WallMs, 2),
        ["generationMsPerJob"] = Math.Round(GenerationMs, 2),
        ["overheadPercent"] = Math.Round(OverheadPercent, 2),
        ["overheadGoalPercent"] = 5,
        ["overheadGoalMet"] = OverheadPercent <= 5,
        ["statuses"] = new JsonObject(Statuses.Select(r => KeyValuePair.Create(r.Key, (JsonNode?)r.Value))),
    };
}
