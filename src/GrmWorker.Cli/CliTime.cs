using System.Globalization;
using GrmWorker.Worker.Runs;

namespace GrmWorker.Cli;

/// <summary>
/// Reads `--since` / `--until`: an ISO 8601 date or time (UTC unless it has an offset: <c>2025-06-01</c>,
/// <c>2025-06-01T12:00:00+02:00</c>) or an age before now (<c>90s</c>, <c>30m</c>, <c>6h</c>, <c>7d</c>).
/// </summary>
internal static class CliTime
{
    public static DateTimeOffset? Parse(string? value, string option, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var text = value.Trim();
        if (text.Length >= 2 && char.IsAsciiDigit(text[0]) && "smhd".Contains(text[^1], StringComparison.Ordinal)
            && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && amount >= 0)
        {
            var unit = text[^1] switch
            {
                's' => TimeSpan.FromSeconds(1),
                'm' => TimeSpan.FromMinutes(1),
                'h' => TimeSpan.FromHours(1),
                _ => TimeSpan.FromDays(1),
            };
            return now - (unit * amount);
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var at))
            return at;
        throw new RunException(ExitCodes.BadInput,
            $"{option} '{value}' is neither an ISO 8601 time (2025-06-01, 2025-06-01T12:00:00Z) nor an age like 30m, 6h or 7d");
    }
}
