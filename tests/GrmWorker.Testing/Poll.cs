namespace GrmWorker.Testing;

/// <summary>
/// Waiting for something to happen in a test: ask again until it holds or a deadline passes, and fail naming what did
/// not happen. Never a fixed sleep that hopes the thing is done by then.
/// </summary>
public static class Poll
{
    private static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Asks <paramref name="condition"/> every <paramref name="interval"/> (50 ms unless given) until it holds; once
    /// <paramref name="timeout"/> has passed without it, throws a <see cref="TimeoutException"/> with <paramref name="failure"/>'s text.
    /// </summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> failure, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(failure);
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow >= deadline) throw new TimeoutException($"not within {timeout.TotalSeconds:0.##} s: {failure()}");
            await Task.Delay(interval ?? DefaultInterval);
        }
    }

    /// <inheritdoc cref="UntilAsync(Func{Task{bool}}, TimeSpan, Func{string}, TimeSpan?)"/>
    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> failure, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return UntilAsync(() => Task.FromResult(condition()), timeout, failure, interval);
    }
}
