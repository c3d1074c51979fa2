namespace GrmWorker.Inference.Tokenization;

/// <summary>
/// Scratch state of one word during merging: symbols in an array linked as a list (merges join a
/// symbol with its right neighbour in place) and a min-queue of candidate merges keyed by
/// (rank, position), the order HF's `Word::merge_all` uses. Reused per thread.
/// </summary>
internal sealed class BpeWord
{
    private readonly PriorityQueue<(int Pos, int NewId), long> _queue = new();
    private int[] _ids = new int[64];
    private int[] _prev = new int[64];
    private int[] _next = new int[64];
    private bool[] _removed = new bool[64];
    private int _count;

    public void Reset(int capacity)
    {
        if (_ids.Length < capacity)
        {
            var size = Math.Max(capacity, _ids.Length * 2);
            _ids = new int[size];
            _prev = new int[size];
            _next = new int[size];
            _removed = new bool[size];
        }

        _count = 0;
        _queue.Clear();
    }

    public void Add(int id)
    {
        _ids[_count] = id;
        _prev[_count] = _count - 1;
        _next[_count] = _count + 1;
        _removed[_count] = false;
        _count++;
    }

    public void MergeAll(Dictionary<long, BpeMerge> merges)
    {
        if (_count < 2)
        {
            return;
        }

        _next[_count - 1] = -1;
        for (var i = 0; i + 1 < _count; i++)
        {
            Enqueue(merges, i, _ids[i], _ids[i + 1]);
        }

        while (_queue.TryDequeue(out var top, out _))
        {
            TryMerge(merges, top.Pos, top.NewId);
        }
    }

    public int[] ToIds()
    {
        var n = 0;
        for (var i = 0; i < _count; i++)
        {
            n += _removed[i] ? 0 : 1;
        }

        var ids = new int[n];
        for (int i = 0, j = 0; i < _count; i++)
        {
            if (!_removed[i])
            {
                ids[j++] = _ids[i];
            }
        }

        return ids;
    }

    private void TryMerge(Dictionary<long, BpeMerge> merges, int pos, int newId)
    {
        var right = _next[pos];
        // Stale entries: the symbol was merged away, is now last, or its pair changed.
        if (_removed[pos] || right < 0 ||
            !merges.TryGetValue(BpeModel.PairKey(_ids[pos], _ids[right]), out var current) || current.NewId != newId)
        {
            return;
        }

        _ids[pos] = newId;
        _removed[right] = true;
        _next[pos] = _next[right];
        if (_next[pos] >= 0)
        {
            _prev[_next[pos]] = pos;
        }

        if (_prev[pos] >= 0)
        {
            Enqueue(merges, _prev[pos], _ids[_prev[pos]], newId);
        }

        if (_next[pos] >= 0)
        {
            Enqueue(merges, pos, newId, _ids[_next[pos]]);
        }
    }

    private void Enqueue(Dictionary<long, BpeMerge> merges, int pos, int left, int right)
    {
        if (merges.TryGetValue(BpeModel.PairKey(left, right), out var merge))
        {
            _queue.Enqueue((pos, merge.NewId), ((long)merge.Rank << 32) | (uint)pos);
        }
    }
}
