
using GrmWorker.Worker.Messaging;

namespace GrmWorker.Worker.Tests;

/// <summary>Two batches in flight never score the same requestId at once; disjoint batches never wait.</summary>
public sealed class InFlightRequestsTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task A_batch_with_an_id_another_batch_holds_waits_until_that_batch_is_done()
    {
        var inFlight = new InFlightRequests();
        var first = await inFlight.ClaimAsync(["a", "b"], CancellationToken.None);

        // ClaimAsync checks the held ids synchronously: blocked, it returns a task that only a release completes.
        var second = inFlight.ClaimAsync(["b", "c"], CancellationToken.None);
        Assert.False(second.IsCompleted);

        first.Dispose();
        using var claimed = await second.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Batches_with_different_ids_do_not_wait_for_each_other()
    {
        var inFlight = new InFlightRequests();
        using var first = await inFlight.ClaimAsync(["a"], CancellationToken.None);

        using var second = await inFlight.ClaimAsync(["b"], CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_waiting_batch_stops_waiting_when_cancelled_and_holds_nothing()
    {
        var inFlight = new InFlightRequests();
        var first = await inFlight.ClaimAsync(["a"], CancellationToken.None);
        using var cancel = new CancellationTokenSource(Short);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => inFlight.ClaimAsync(["a", "z"], cancel.Token));

        // "z" was never taken by the cancelled claim.
        using var z = await inFlight.ClaimAsync(["z"], CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        first.Dispose();
        first.Dispose(); // a second dispose releases nothing twice
        using var again = await inFlight.ClaimAsync(["a"], CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
    }
}
