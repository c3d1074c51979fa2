namespace GrmWorker.Worker.Relabel;

/// <summary>
/// Reports rejected lines on stderr as <c>FILE:LINE: code: message</c>, the first <see cref="Limit"/> of them (the
/// rejects file has all). While the live progress bar owns the terminal they are held, and printed after it.
/// </summary>
internal sealed class RelabelReporter(TextWriter error, string inputName)
{
    public const int Limit = 50;

    private readonly Queue<string> _held = new();
    private int _reported;

    public bool Hold { get; set; }

    public void Report(RelabelReject reject)
    {
        ArgumentNullException.ThrowIfNull(reject);
        if (++_reported > Limit) return;
        var text = $"{inputName}:{reject.LineNumber}: {reject.Code}: {reject.Message}";
        if (Hold) _held.Enqueue(text);
        else error.WriteLine(text);
    }

    /// <summary>Prints what was held, and how many were not printed.</summary>
    public void Finish(string rejectsPath)
    {
        Hold = false;
        while (_held.TryDequeue(out var text)) error.WriteLine(text);
        if (_reported > Limit) error.WriteLine($"... and {_reported - Limit} more rejected lines: see {rejectsPath}");
    }
}
