using System.Globalization;
using System.Security;
using System.Text;

namespace GrmWorker.Worker.Evaluation;

/// <summary>
/// A self-contained SVG of accuracy against k (log2 x-axis): voting@k and meta-RM@k as lines with ±SE bars, greedy
/// as a dashed horizontal line, adaptive stopping as one point at its mean samples per item (hollow points, labelled δ,
/// for the other error bounds of `--error-bounds`). Written by hand: one chart needs no plotting library.
/// </summary>
public static class EvalPlot
{
    private const double Width = 800, Height = 460;
    private const double Left = 70, Right = 560, Top = 56, Bottom = 390;
    private const string VotingColor = "#1f77b4", MetaColor = "#d62728", GreedyColor = "#555555", AdaptiveColor = "#2ca02c";

    public static string Render(EvalMetricsReport report, EvalRunInfo info)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(info);
        var x = XScale(report);
        var y = YScale(report);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{Height}" viewBox="0 0 {Width} {Height}" font-family="sans-serif" font-size="12">""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<rect width="{Width}" height="{Height}" fill="white"/>""").Append('\n');
        Text(svg, (Left + Right) / 2, 24, $"GRM accuracy vs samples k: {info.ModelId}, {report.Items} items", "middle", size: 15, bold: true);
        Text(svg, (Left + Right) / 2, 42, $"{info.DataFile}; ties for the top count as wrong; bars ±1 SE", "middle", size: 11, color: "#666666");
        Axes(svg, report, x, y);

        Line(svg, Left, y.Map(report.Greedy.Value), Right, y.Map(report.Greedy.Value), GreedyColor, dashed: true);
        Series(svg, report.Voting, x, y, VotingColor, square: false);
        if (report.MetaRm is { } meta) Series(svg, meta, x, y, MetaColor, square: true);
        foreach (var swept in report.AdaptiveSweep.Where(a => a.MeanSamples > 0))
        {
            var (sx, sy) = (x.Map(Math.Log2(swept.MeanSamples)), y.Map(swept.Accuracy.Value));
            Diamond(svg, sx, sy, 5, "white", AdaptiveColor);
            Text(svg, sx, sy - 9, "δ " + swept.ErrorBound.ToString("0.###", CultureInfo.InvariantCulture), "middle", size: 10, color: AdaptiveColor);
        }
        var adaptive = report.Adaptive;
        if (adaptive.MeanSamples > 0)
            Diamond(svg, x.Map(Math.Log2(adaptive.MeanSamples)), y.Map(adaptive.Accuracy.Value), 7, AdaptiveColor, AdaptiveColor);
        Legend(svg, report);
        return svg.Append("</svg>\n").ToString();
    }

    private static void Axes(StringBuilder svg, EvalMetricsReport report, Scale x, Scale y)
    {
        for (var v = y.Low; v <= y.High + 1e-9; v += y.Step)
        {
            var py = y.Map(v);
            Line(svg, Left, py, Right, py, "#e5e5e5");
            Line(svg, Left - 5, py, Left, py, "black");
            Text(svg, Left - 8, py + 4, (100 * v).ToString("0.#", CultureInfo.InvariantCulture) + "%", "end");
        }
        foreach (var k in report.Voting.Keys)
        {
            var px = x.Map(Math.Log2(k));
            Line(svg, px, Bottom, px, Bottom + 5, "black");
            Text(svg, px, Bottom + 19, k.ToString(CultureInfo.InvariantCulture), "middle");
        }
        Line(svg, Left, Bottom, Right, Bottom, "black");
        Line(svg, Left, Top, Left, Bottom, "black");
        Text(svg, (Left + Right) / 2, Bottom + 40, "k, samples per item (log2 scale)", "middle");
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="18" y="{F((Top + Bottom) / 2)}" text-anchor="middle" transform="rotate(-90 18 {F((Top + Bottom) / 2)})">accuracy</text>""").Append('\n');
    }

    private static void Series(StringBuilder svg, IReadOnlyDictionary<int, EvalAccuracy> byK, Scale x, Scale y, string color, bool square)
    {
        var points = byK.OrderBy(p => p.Key).Select(p => (X: x.Map(Math.Log2(p.Key)), p.Value)).ToArray();
        svg.Append(CultureInfo.InvariantCulture, $"""<polyline fill="none" stroke="{color}" stroke-width="2" points="{string.Join(" ", points.Select(p => $"{F(p.X)},{F(y.Map(p.Value.Value))}"))}"/>""").Append('\n');
        foreach (var (px, accuracy) in points)
        {
            var py = y.Map(accuracy.Value);
            Line(svg, px, y.Map(Math.Max(0, accuracy.Value - accuracy.StandardError)), px, y.Map(Math.Min(1, accuracy.Value + accuracy.StandardError)), color);
            svg.Append(square
                ? $"""<rect x="{F(px - 4)}" y="{F(py - 4)}" width="8" height="8" fill="{color}"/>"""
                : $"""<circle cx="{F(px)}" cy="{F(py)}" r="4" fill="{color}"/>""").Append('\n');
        }
    }

    private static void Legend(StringBuilder svg, EvalMetricsReport report)
    {
        const double lx = Right + 24;
        var ly = Top + 10;
        var a = report.Adaptive;
        var entries = new List<(string Label, string Color, string Shape)>
        {
            ($"voting@k", VotingColor, "circle"),
            ($"greedy {Pct(report.Greedy.Value)}", GreedyColor, "dash"),
            ($"adaptive {Pct(a.Accuracy.Value)} (δ {a.ErrorBound.ToString("0.###", CultureInfo.InvariantCulture)})", AdaptiveColor, "diamond"),
        };
        if (report.MetaRm is not null) entries.Insert(1, ("meta-RM@k", MetaColor, "square"));
        // The adaptive entry stays last: its samples/item line goes under it.
        if (report.AdaptiveSweep.Count > 0) entries.Insert(entries.Count - 1, ("adaptive, other δ", AdaptiveColor, "hollow"));
        foreach (var (label, color, shape) in entries)
        {
            switch (shape)
            {
                case "dash": Line(svg, lx, ly, lx + 22, ly, color, dashed: true); break;
                case "diamond": Diamond(svg, lx + 11, ly, 6, color, color); break;
                case "hollow": Diamond(svg, lx + 11, ly, 5, "white", color); break;
                default:
                    Line(svg, lx, ly, lx + 22, ly, color);
                    svg.Append(shape == "square"
                        ? $"""<rect x="{F(lx + 7)}" y="{F(ly - 4)}" width="8" height="8" fill="{color}"/>"""
                        : $"""<circle cx="{F(lx + 11)}" cy="{F(ly)}" r="4" fill="{color}"/>""").Append('\n');
                    break;
            }
            Text(svg, lx + 30, ly + 4, label, "start");
            ly += 22;
        }
        Text(svg, lx + 30, ly + 4, $"{a.MeanSamples.ToString("F1", CultureInfo.InvariantCulture)} samples/item ({(100 * a.SamplesFraction).ToString("F0", CultureInfo.InvariantCulture)}% of k_max)", "start", size: 11, color: "#666666");
        Text(svg, lx, ly + 30, $"parse-valid {Pct(report.ParseValidRate)}", "start", size: 11, color: "#666666");
    }

    /// <summary>log2 k across the plot: every k and the adaptive mean, half a doubling of room either side.</summary>
    private static Scale XScale(EvalMetricsReport report)
    {
        var values = report.Voting.Keys.Select(k => Math.Log2(k)).ToList();
        values.AddRange(report.AdaptiveSweep.Prepend(report.Adaptive).Where(a => a.MeanSamples > 0).Select(a => Math.Log2(a.MeanSamples)));
        return new Scale(values.Min() - 0.5, values.Max() + 0.5, 1, Left, Right);
    }

    /// <summary>Accuracy from a round 5% below the lowest figure to one above the highest, within 0..100%.</summary>
    private static Scale YScale(EvalMetricsReport report)
    {
        var values = report.Voting.Values.Concat(report.MetaRm?.Values ?? []).Append(report.Greedy)
            .Concat(report.AdaptiveSweep.Prepend(report.Adaptive).Select(a => a.Accuracy))
            .Select(a => a.Value).ToArray();
        var low = Math.Max(0, Math.Floor((values.Min() - 0.02) * 20) / 20);
        var high = Math.Min(1, Math.Ceiling((values.Max() + 0.02) * 20) / 20);
        if (high - low < 0.1) (low, high) = low + 0.1 <= 1 ? (low, low + 0.1) : (high - 0.1, high);
        var step = high - low <= 0.3 ? 0.05 : high - low <= 0.6 ? 0.1 : 0.2;
        return new Scale(low, high, step, Bottom, Top);
    }

    private static void Diamond(StringBuilder svg, double cx, double cy, double r, string fill, string stroke) =>
        svg.Append(CultureInfo.InvariantCulture,
            $"""<path d="M {F(cx)} {F(cy - r)} L {F(cx + r)} {F(cy)} L {F(cx)} {F(cy + r)} L {F(cx - r)} {F(cy)} Z" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>""").Append('\n');

    private static void Line(StringBuilder svg, double x1, double y1, double x2, double y2, string color, bool dashed = false) =>
        svg.Append(CultureInfo.InvariantCulture,
            $"""<line x1="{F(x1)}" y1="{F(y1)}" x2="{F(x2)}" y2="{F(y2)}" stroke="{color}" stroke-width="{(dashed ? 2 : 1)}"{(dashed ? " stroke-dasharray=\"6 4\"" : "")}/>""").Append('\n');

    private static void Text(StringBuilder svg, double x, double y, string text, string anchor, int size = 12, bool bold = false, string color = "black") =>
        svg.Append(CultureInfo.InvariantCulture,
            $"""<text x="{F(x)}" y="{F(y)}" text-anchor="{anchor}" font-size="{size}" fill="{color}"{(bold ? " font-weight=\"bold\"" : "")}>{SecurityElement.Escape(text)}</text>""").Append('\n');

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Pct(double v) => (100 * v).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    /// <summary>Data range [Low, High] onto pixels [From, To] (To may be smaller: y grows downwards).</summary>
    private sealed record Scale(double Low, double High, double Step, double From, double To)
    {
        public double Map(double v) => From + ((v - Low) / (High - Low) * (To - From));
    }
}
