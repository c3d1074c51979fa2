using GrmWorker.Scoring.Aggregation;

namespace GrmWorker.Scoring.Tests;

internal static class TestSamples
{
    public static GrmSample[] FromRows(params int[][] rows) =>
        rows.Select((scores, j) => GrmSample.FromScores(j, scores)).ToArray();

    public static GrmSample[] Repeat(int count, params int[] scores) =>
        Enumerable.Range(0, count).Select(j => GrmSample.FromScores(j, scores)).ToArray();
}
