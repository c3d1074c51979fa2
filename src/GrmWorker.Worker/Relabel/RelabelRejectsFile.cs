using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace GrmWorker.Worker.Relabel;

/// <summary>
/// The rejects file (default <c>OUT.rejects.jsonl</c>): one JSON line per input line that is not in OUT after this run,
/// written as soon as it is known: <c>{"line", "requestId", "code", "message", "input"}</c> where <c>input</c> is the
/// input line as text (fix it and feed it again). Rewritten by each run: a run re-checks every line not done.
/// </summary>
internal sealed class RelabelRejectsFile : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly StreamWriter _writer;

    private RelabelRejectsFile(StreamWriter writer) => _writer = writer;

    public static RelabelRejectsFile Create(string path) =>
        new(new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)));

    /// <summary>The default path: OUT with <c>.jsonl</c> replaced by <c>.rejects.jsonl</c> (or that appended).</summary>
    public static string DefaultPathFor(string output) =>
        (output.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) ? output[..^".jsonl".Length] : output) + ".rejects.jsonl";

    public async Task WriteAsync(RelabelReject reject, string input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reject);
        var line = JsonSerializer.Serialize(new { line = reject.LineNumber, reject.RequestId, reject.Code, reject.Message, input }, Options);
        await _writer.WriteLineAsync(line.AsMemory(), cancellationToken);
        await _writer.FlushAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync() => await _writer.DisposeAsync();
}
