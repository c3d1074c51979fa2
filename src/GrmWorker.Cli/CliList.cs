namespace GrmWorker.Cli;

/// <summary>The CLI's one list syntax for option values: comma separated, blanks around items ignored ("1,2,4", "0.05, 0.1").</summary>
internal static class CliList
{
    /// <summary>Every item parsed by <paramref name="item"/> (null: not a valid item), or null when one is not valid or there are none.</summary>
    public static T[]? Parse<T>(string text, Func<string, T?> item) where T : struct
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(item);
        var values = new List<T>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (item(part) is not { } value) return null;
            values.Add(value);
        }
        return values.Count == 0 ? null : [.. values];
    }
}
