using System.Buffers;
using System.Text;
using System.Text.Json;

namespace GrmWorker.Worker.Relabel;

/// <summary>
/// What is already done, and the sidecar that makes a run resumable. A line is done when an output line with its
/// requestId is in OUT or in <c>OUT.partial</c>. During a run every finished line is appended to <c>OUT.partial</c> at
/// once (completion order, flushed per line), so a Ctrl+C or a SIGKILL loses at most the line being written (a torn
/// last line is cut off when the next run opens the file). At the end of a run, interrupted or not,
/// <see cref="WriteOutputAsync"/> writes every done line in input order to <c>OUT.tmp</c>, renames it over OUT (atomic)
/// and deletes <c>OUT.partial</c>; a crash at any point leaves OUT and the sidecar readable by the next run.
/// Lines are located by byte offset, not held in memory.
/// </summary>
internal sealed class RelabelCheckpoint : IAsyncDisposable
{
    private const int BufferSize = 1 << 16;

    private readonly Dictionary<string, Location> _done;
    private readonly string _output;
    private readonly string _partial;
    private FileStream? _append;
    private long _appendOffset;

    private RelabelCheckpoint(string output, Dictionary<string, Location> done, FileStream append, long appendOffset)
    {
        _output = output;
        _partial = PartialPathOf(output);
        _done = done;
        _append = append;
        _appendOffset = appendOffset;
    }

    private enum Source
    {
        Output,
        Partial,
    }

    public static string PartialPathOf(string output) => output + ".partial";

    /// <summary>Reads OUT and the sidecar (a torn last line of the sidecar is cut off) and opens the sidecar for appending.</summary>
    public static async Task<RelabelCheckpoint> OpenAsync(string output, CancellationToken cancellationToken)
    {
        var done = new Dictionary<string, Location>(StringComparer.Ordinal);
        if (File.Exists(output)) await ScanAsync(output, Source.Output, done, indexTail: true, cancellationToken);
        var partial = PartialPathOf(output);
        var end = File.Exists(partial) ? await ScanAsync(partial, Source.Partial, done, indexTail: false, cancellationToken) : 0;
        var append = new FileStream(partial, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, BufferSize, FileOptions.Asynchronous);
        append.SetLength(end);
        append.Position = end;
        return new RelabelCheckpoint(output, done, append, end);
    }

    public bool IsDone(string requestId) => _done.ContainsKey(requestId);

    /// <summary>Records a finished line; it is on disk (in the OS) when this returns.</summary>
    public async Task AppendAsync(string requestId, string outputLine, CancellationToken cancellationToken)
    {
        var append = _append ?? throw new InvalidOperationException("the checkpoint was already written out");
        var bytes = Encoding.UTF8.GetBytes(outputLine + "\n");
        await append.WriteAsync(bytes, cancellationToken);
        await append.FlushAsync(cancellationToken);
        _done[requestId] = new Location(Source.Partial, _appendOffset, bytes.Length - 1);
        _appendOffset += bytes.Length;
    }

    /// <summary>
    /// Writes OUT anew: the done line of each id of <paramref name="orderedIds"/> (input order), skipping ids not
    /// done; lines of ids no longer in the input are dropped. Returns the number of lines written.
    /// </summary>
    public async Task<int> WriteOutputAsync(IReadOnlyList<string> orderedIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(orderedIds);
        if (_append is not null)
        {
            await _append.DisposeAsync();
            _append = null;
        }
        var temporary = _output + ".tmp";
        var written = 0;
        using (var output = File.Exists(_output) ? File.OpenHandle(_output) : null)
        using (var partial = File.OpenHandle(_partial))
        await using (var writer = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous))
        {
            var buffer = new byte[BufferSize];
            foreach (var id in orderedIds)
            {
                if (!_done.TryGetValue(id, out var at)) continue;
                if (buffer.Length < at.Length + 1) buffer = new byte[at.Length + 1];
                await ReadExactlyAsync(at.File == Source.Output ? output! : partial, buffer.AsMemory(0, at.Length), at.Offset, cancellationToken);
                buffer[at.Length] = (byte)'\n';
                await writer.WriteAsync(buffer.AsMemory(0, at.Length + 1), cancellationToken);
                written++;
            }
            await writer.FlushAsync(cancellationToken);
            writer.Flush(flushToDisk: true);
        }
        File.Move(temporary, _output, overwrite: true);
        File.Delete(_partial);
        return written;
    }

    public async ValueTask DisposeAsync()
    {
        if (_append is not null) await _append.DisposeAsync();
        _append = null;
    }

    private static async Task ReadExactlyAsync(Microsoft.Win32.SafeHandles.SafeFileHandle file, Memory<byte> into, long offset, CancellationToken cancellationToken)
    {
        while (into.Length > 0)
        {
            var read = await RandomAccess.ReadAsync(file, into, offset, cancellationToken);
            if (read == 0) throw new IOException("an output file became shorter while relabel was writing OUT");
            into = into[read..];
            offset += read;
        }
    }

    /// <summary>Indexes each line's requestId by offset; returns the offset just past the last newline.</summary>
    private static async Task<long> ScanAsync(string path, Source source, Dictionary<string, Location> done, bool indexTail, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var scanner = new LineScanner(source, done);
        var buffer = new byte[BufferSize];
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            scanner.Feed(buffer.AsSpan(0, read));
        if (indexTail) scanner.FinishTail();
        return scanner.TerminatedEnd;
    }

    private readonly record struct Location(Source File, long Offset, int Length);

    /// <summary>Splits a stream of bytes into lines and indexes the requestId of each complete JSON line.</summary>
    private sealed class LineScanner(Source source, Dictionary<string, Location> done)
    {
        private readonly ArrayBufferWriter<byte> _line = new();
        private long _lineStart;
        private long _position;

        public long TerminatedEnd { get; private set; }

        public void Feed(ReadOnlySpan<byte> chunk)
        {
            while (!chunk.IsEmpty)
            {
                var newline = chunk.IndexOf((byte)'\n');
                if (newline < 0)
                {
                    _line.Write(chunk);
                    _position += chunk.Length;
                    return;
                }
                _line.Write(chunk[..newline]);
                _position += newline + 1;
                Index();
                TerminatedEnd = _position;
                _lineStart = _position;
                chunk = chunk[(newline + 1)..];
            }
        }

        public void FinishTail()
        {
            if (_line.WrittenCount > 0) Index();
        }

        private void Index()
        {
            var bytes = _line.WrittenSpan;
            if (bytes.Length > 0 && bytes[^1] == (byte)'\r') bytes = bytes[..^1];
            if (RequestIdOf(bytes) is { } id) done[id] = new Location(source, _lineStart, bytes.Length);
            _line.ResetWrittenCount();
        }

        private static string? RequestIdOf(ReadOnlySpan<byte> line)
        {
            try
            {
                var reader = new Utf8JsonReader(line);
                using var document = JsonDocument.ParseValue(ref reader);
                return document.RootElement.ValueKind == JsonValueKind.Object
                    && document.RootElement.TryGetProperty("requestId", out var id) && id.ValueKind == JsonValueKind.String
                    ? id.GetString()
                    : null;
            }
            catch (JsonException)
            {
                // A torn or hand-broken line: not done, so it is sent again.
                return null;
            }
        }
    }
}
