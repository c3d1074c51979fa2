namespace GrmWorker.Worker.Evaluation;

/// <summary>A bad evaluation data file: names the file, the 1-based line and the field at fault.</summary>
public sealed class EvalDataException : Exception
{
    public EvalDataException()
    {
    }

    public EvalDataException(string message)
        : base(message)
    {
    }

    public EvalDataException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public EvalDataException(string file, int line, string? field, string problem, Exception? innerException = null)
        : base($"{file}:{line}: {(field is null ? "" : field + ": ")}{problem}", innerException)
    {
        File = file;
        Line = line;
        Field = field;
    }

    public string File { get; } = "";

    public int Line { get; }

    public string? Field { get; }
}
