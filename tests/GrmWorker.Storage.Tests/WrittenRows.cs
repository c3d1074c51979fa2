using System.Text.Json;

namespace GrmWorker.Storage.Tests;

/// <summary>
/// How the JobWriter tests look at what was written: a job read back equal to what went in (JSON columns compared as
/// jsonb normalises them), row counts per job and per table, and a writer that cancels its own write after a table.
/// </summary>
internal static class WrittenRows
{
    public static readonly string[] ChildTables = ["job_responses", "grm_samples", "principles", "critiques", "scores", "rewards"];

    public static void AssertSameJob(JobRecord expected, JobRecord actual)
    {
        if (expected.RequestJson is null) Assert.Null(actual.RequestJson);
        else AssertJsonEqual(expected.RequestJson, actual.RequestJson!);
        AssertJsonEqual(expected.ResultJson, actual.ResultJson);
        // Everything else must match exactly; JSON columns are jsonb (normalised), compared above.
        var options = new JsonSerializerOptions { WriteIndented = true };
        Assert.Equal(
            JsonSerializer.Serialize(expected with { RequestJson = null, ResultJson = "" }, options),
            JsonSerializer.Serialize(actual with { RequestJson = null, ResultJson = "" }, options));
    }

    public static void AssertJsonEqual(string expected, string actual)
    {
        using var e = JsonDocument.Parse(expected);
        using var a = JsonDocument.Parse(actual);
        Assert.True(JsonElement.DeepEquals(e.RootElement, a.RootElement), $"JSON differs:\n{expected}\n{actual}");
    }

    public static async Task<Dictionary<string, long>> CountsAsync(TestDatabase db, long jobId)
    {
        var counts = new Dictionary<string, long>
        {
            ["scoring_jobs"] = await db.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE id = $1", jobId),
        };
        foreach (var table in ChildTables)
            counts[table] = await db.ScalarAsync<long>($"SELECT count(*) FROM {table} WHERE job_id = $1", jobId);
        return counts;
    }

    public static async Task<Dictionary<string, long>> TotalsAsync(TestDatabase db)
    {
        var totals = new Dictionary<string, long>();
        foreach (var table in ChildTables.Prepend("scoring_jobs"))
            totals[table] = await db.ScalarAsync<long>($"SELECT count(*) FROM {table}");
        return totals;
    }

    /// <summary>A writer that cancels <paramref name="cancel"/> right after it wrote <paramref name="table"/>, inside its transaction.</summary>
    public static JobWriter CancellingAfter(TestDatabase db, string table, CancellationTokenSource cancel) => new(db.DataSource)
    {
        AfterTable = (written, _) =>
        {
            if (written == table) cancel.Cancel();
            return Task.CompletedTask;
        },
    };
}
