namespace GrmWorker.Inference.Tokenization;

/// <summary>
/// HF `NormalizedString::split`: turns the matches of a pattern into pieces according to a
/// <see cref="SplitBehavior"/>, then drops empty pieces.
/// </summary>
internal static class Splitter
{
    public static void Split(
        string text, List<(int Start, int End)> matches, SplitBehavior behavior, bool invert, List<string> output)
    {
        if (text.Length == 0)
        {
            return;
        }

        if (matches.Count == 0 && !invert)
        {
            // Fast path: the whole text is one non-match, which every behavior keeps.
            output.Add(text);
            return;
        }

        var spans = Cover(text.Length, matches, invert);
        var merged = behavior switch
        {
            SplitBehavior.Removed => spans.Where(s => !s.IsMatch).ToList(),
            SplitBehavior.Isolated => spans,
            SplitBehavior.MergedWithPrevious => MergeWithPrevious(spans),
            SplitBehavior.MergedWithNext => MergeWithNext(spans),
            SplitBehavior.Contiguous => MergeContiguous(spans),
            _ => throw new ArgumentOutOfRangeException(nameof(behavior)),
        };

        foreach (var (start, end, _) in merged)
        {
            if (end > start)
            {
                output.Add(text.Substring(start, end - start));
            }
        }
    }

    /// <summary>Matches plus the gaps between them, covering the whole text in order.</summary>
    private static List<(int Start, int End, bool IsMatch)> Cover(int length, List<(int Start, int End)> matches, bool invert)
    {
        var spans = new List<(int, int, bool)>(matches.Count * 2 + 1);
        var previous = 0;
        foreach (var (start, end) in matches)
        {
            if (previous != start)
            {
                spans.Add((previous, start, invert));
            }

            spans.Add((start, end, !invert));
            previous = end;
        }

        if (previous != length)
        {
            spans.Add((previous, length, invert));
        }

        return spans;
    }

    private static List<(int Start, int End, bool IsMatch)> MergeWithPrevious(List<(int Start, int End, bool IsMatch)> spans)
    {
        var result = new List<(int Start, int End, bool IsMatch)>(spans.Count);
        var previousMatch = false;
        foreach (var span in spans)
        {
            if (span.IsMatch && !previousMatch && result.Count > 0)
            {
                result[^1] = (result[^1].Start, span.End, false);
            }
            else
            {
                result.Add((span.Start, span.End, span.IsMatch && !previousMatch));
            }

            previousMatch = span.IsMatch;
        }

        return result;
    }

    private static List<(int Start, int End, bool IsMatch)> MergeWithNext(List<(int Start, int End, bool IsMatch)> spans)
    {
        var result = new List<(int Start, int End, bool IsMatch)>(spans.Count);
        var previousMatch = false;
        for (var i = spans.Count - 1; i >= 0; i--)
        {
            var span = spans[i];
            if (span.IsMatch && !previousMatch && result.Count > 0)
            {
                result[^1] = (span.Start, result[^1].End, false);
            }
            else
            {
                result.Add((span.Start, span.End, span.IsMatch && !previousMatch));
            }

            previousMatch = span.IsMatch;
        }

        result.Reverse();
        return result;
    }

    private static List<(int Start, int End, bool IsMatch)> MergeContiguous(List<(int Start, int End, bool IsMatch)> spans)
    {
        var result = new List<(int Start, int End, bool IsMatch)>(spans.Count);
        var previousMatch = false;
        foreach (var span in spans)
        {
            if (span.IsMatch == previousMatch && result.Count > 0)
            {
                result[^1] = (result[^1].Start, span.End, false);
            }
            else
            {
                result.Add((span.Start, span.End, false));
            }

            previousMatch = span.IsMatch;
        }

        return result;
    }
}
