namespace GrmWorker.Scoring.Sampling;

/// <summary>
/// The order one sample shows the responses in: <c>Order[p]</c> is the request index of the
/// response shown at position p (0-based). Stored with every sample so its scores can be mapped back.
/// </summary>
public sealed record Permutation
{
    private readonly int[] _order;

    public Permutation(IReadOnlyList<int> order)
    {
        ArgumentNullException.ThrowIfNull(order);
        if (!IsPermutation(order))
            throw new ArgumentException("order must hold each index 0..n-1 exactly once", nameof(order));
        _order = [.. order];
    }

    public IReadOnlyList<int> Order => _order;

    public int Count => _order.Length;

    public static Permutation Identity(int count) => new(Enumerable.Range(0, count).ToArray());

    /// <summary>A uniformly random order (Fisher–Yates) drawn from the sample's own seed.</summary>
    public static Permutation FromSeed(int count, long sampleSeed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var rng = new DeterministicRandom(unchecked((ulong)sampleSeed));
        var order = Enumerable.Range(0, count).ToArray();
        for (var i = count - 1; i > 0; i--)
        {
            var j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return new Permutation(order);
    }

    /// <summary>Items in request order -> the order shown in the prompt.</summary>
    public T[] ToShown<T>(IReadOnlyList<T> requestOrder)
    {
        ArgumentNullException.ThrowIfNull(requestOrder);
        CheckCount(requestOrder.Count);
        var shown = new T[_order.Length];
        for (var p = 0; p < _order.Length; p++)
            shown[p] = requestOrder[_order[p]];
        return shown;
    }

    /// <summary>Items in shown order (e.g. parsed scores) -> request order.</summary>
    public T[] ToRequest<T>(IReadOnlyList<T> shownOrder)
    {
        ArgumentNullException.ThrowIfNull(shownOrder);
        CheckCount(shownOrder.Count);
        var request = new T[_order.Length];
        for (var p = 0; p < _order.Length; p++)
            request[_order[p]] = shownOrder[p];
        return request;
    }

    /// <summary>The position at which request index <paramref name="requestIndex"/> is shown.</summary>
    public int PositionOf(int requestIndex) => Array.IndexOf(_order, requestIndex);

    public bool Equals(Permutation? other) => other is not null && _order.AsSpan().SequenceEqual(other._order);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var i in _order)
            hash.Add(i);
        return hash.ToHashCode();
    }

    public override string ToString() => "[" + string.Join(",", _order) + "]";

    private void CheckCount(int count)
    {
        if (count != _order.Length)
            throw new ArgumentException($"expected {_order.Length} items, got {count}");
    }

    private static bool IsPermutation(IReadOnlyList<int> order)
    {
        var seen = new bool[order.Count];
        foreach (var i in order)
        {
            if (i < 0 || i >= seen.Length || seen[i])
                return false;
            seen[i] = true;
        }
        return true;
    }
}
