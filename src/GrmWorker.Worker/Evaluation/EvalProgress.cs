using System.Diagnostics;
using System.Globalization;

namespace GrmWorker.Worker.Evaluation;

/// <summary>
/// Progress on stderr after each batch: items done, samples and tokens per second. Rewrites one line on a terminal;
/// a redirected stream gets a line at most every <see cref="RedirectedInterval"/> (and the last one).
/// </summary>
public sealed class EvalProgress(TextWriter writer, int totalItems, bool rewriteLine)
{
    private static readonly TimeSpan RedirectedInterval = TimeSpan.FromSeconds(10);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _lastLine = TimeSpan.MinValue;
    private int _items;
    private long _samples;
    private long _tokens;

    public void BatchDone(DrawnBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        _items += batch.Items.Count;
        _samples += batch.Items.Sum(i => i.Samples.Samples.Count + 1);
        _tokens += batch.Stats.GeneratedTokens;
        var now = _clock.Elapsed;
        var last = _items >= totalItems;
        if (!rewriteLine && !last && now - _lastLine < RedirectedInterval) return;
        _lastLine = now;
        var seconds = Math.Max(now.TotalSeconds, 1e-9);
        var text = string.Create(CultureInfo.InvariantCulture,
            $"grm eval: {_items}/{totalItems} items, {_samples} samples, {_samples / seconds:F1} samples/s, {_tokens / seconds:F0} tokens/s, {seconds:F0} s");
        if (rewriteLine) writer.Write($"\r{text}{(last ? "\n" : "")}");
        else writer.WriteLine(text);
    }
}
