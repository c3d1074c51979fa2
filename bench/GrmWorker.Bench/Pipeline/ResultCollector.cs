using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using GrmWorker.Worker.Messaging;
using RabbitMQ.Client;

namespace GrmWorker.Bench.Pipeline;

/// <summary>A server-named queue bound to the result exchange with the run's route; counts results by status.</summary>
internal sealed class ResultCollector : IAsyncDisposable
{
    private readonly IChannel _channel;
    private readonly ConcurrentDictionary<string, int> _statuses = new(StringComparer.Ordinal);
    private int _count;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ResultCollector(IChannel channel) => _channel = channel;

    public IReadOnlyDictionary<string, int> Statuses => _statuses;

    public static async Task<ResultCollector> StartAsync(IConnection connection, string exchange, string route, CancellationToken ct)
    {
        var channel = await connection.CreateChannelAsync(cancellationToken: ct);
        var collector = new ResultCollector(channel);
        await ResultQueue.ListenAsync(channel, exchange, [route], collector.Received, ct);
        return collector;
    }

    private void Received(ReadOnlySpan<byte> body)
    {
        var status = "unreadable";
        try
        {
            var reader = new Utf8JsonReader(body);
            using var doc = JsonDocument.ParseValue(ref reader);
            if (doc.RootElement.TryGetProperty("status", out var s)) status = s.GetString() ?? "null";
        }
        catch (JsonException)
        {
            // counted as unreadable
        }
        _statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
        Interlocked.Increment(ref _count);
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>Waits until <paramref name="count"/> results arrived in all.</summary>
    public async Task<IReadOnlyDictionary<string, int>> WaitAsync(int count, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (Volatile.Read(ref _count) < count)
        {
            var changed = Volatile.Read(ref _changed).Task;
            if (Volatile.Read(ref _count) >= count) break;
            var left = timeout - deadline.Elapsed;
            if (left <= TimeSpan.Zero)
                throw new BenchException($"only {Volatile.Read(ref _count)} of {count} results arrived within {timeout}");
            try
            {
                await changed.WaitAsync(left, ct);
            }
            catch (TimeoutException)
            {
                // checked at the top
            }
        }
        return new Dictionary<string, int>(_statuses, StringComparer.Ordinal);
    }

    public async ValueTask DisposeAsync() => await _channel.DisposeAsync();
}
