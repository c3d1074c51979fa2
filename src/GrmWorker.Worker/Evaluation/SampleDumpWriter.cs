using System.Text.Encodings.Web;
using System.Text.Json;
using GrmWorker.Worker.Pipeline;

namespace GrmWorker.Worker.Evaluation;

/// <summary>
/// `--dump-samples`: one JSON line per sampled judgement (greedy ones are not written), in item then sample order.
/// Keys: <c>item</c> (0-based index), <c>id</c>, <c>sample</c>, <c>seed</c>, <c>permutation</c> (shown position →
/// request index), <c>text</c>, <c>parseStatus</c>, <c>scores</c> (request order, null when unparsed), <c>metaScore</c>,
/// <c>best</c>, <c>ranksBestFirst</c> and <c>generatedTokens</c>. Training data for the meta-RM on the GRM's own samples.
/// </summary>
public sealed class SampleDumpWriter(TextWriter writer)
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public async Task WriteAsync(DrawnItem drawn, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(drawn);
        var item = drawn.Samples.Item;
        var samples = drawn.Samples.Samples;
        for (var j = 0; j < samples.Count; j++)
        {
            var s = samples[j];
            var line = new SampleDumpLine(
                item.Index, item.Id, s.Index, s.Seed, s.Permutation.Order, drawn.Texts[j], SampleRowMapping.ParseStatusName(s.Status),
                s.IsValid ? s.Scores : null, s.MetaScore, item.Best, EvalMetrics.RanksBestFirst(s, item.Best), drawn.GeneratedTokens[j]);
            await writer.WriteLineAsync(JsonSerializer.Serialize(line, Options).AsMemory(), cancellationToken);
        }
    }
}
