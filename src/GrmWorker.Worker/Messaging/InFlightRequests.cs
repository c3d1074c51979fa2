namespace GrmWorker.Worker.Messaging;

/// <summary>
/// The requestIds the batches in flight in this process are scoring. With more than one batch at once
/// (Worker:ConcurrencyLimit), a request re-sent while its first copy is still being scored would otherwise miss the
/// stored-result lookup and run the model a second time; instead its batch waits here until the first copy's batch
/// has committed, then finds the stored result. A batch claims all its ids at once or none, so two batches can never
/// wait on each other. Across worker processes the unique requestId in Postgres still keeps rows single.
/// </summary>
public sealed class InFlightRequests
{
    private readonly object _gate = new();
    private readonly HashSet<string> _held = new(StringComparer.Ordinal);
    private TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Waits until no other batch holds any of <paramref name="requestIds"/>, then holds them all until disposed.</summary>
    public async Task<IDisposable> ClaimAsync(IReadOnlyCollection<string> requestIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        while (true)
        {
            Task released;
            lock (_gate)
            {
                if (!requestIds.Any(_held.Contains))
                {
                    foreach (var id in requestIds) _held.Add(id);
                    return new Claim(this, [.. requestIds]);
                }
                released = _released.Task;
            }
            await released.WaitAsync(cancellationToken);
        }
    }

    private void Release(string[] requestIds)
    {
        TaskCompletionSource released;
        lock (_gate)
        {
            foreach (var id in requestIds) _held.Remove(id);
            released = _released;
            _released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        released.TrySetResult();
    }

    private sealed class Claim(InFlightRequests owner, string[] requestIds) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) owner.Release(requestIds);
        }
    }
}
