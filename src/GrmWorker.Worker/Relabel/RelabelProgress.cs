namespace GrmWorker.Worker.Relabel;

/// <summary>
/// Shows a run's progress while <paramref name="body"/> runs (`grm relabel`'s RelabelDisplay: a live bar when
/// <paramref name="live"/>, else a plain line on <paramref name="error"/> every <paramref name="interval"/>).
/// </summary>
internal delegate Task RelabelProgress(RelabelCounters counters, string title, bool live, TextWriter error, TimeSpan interval, Func<Task> body);
