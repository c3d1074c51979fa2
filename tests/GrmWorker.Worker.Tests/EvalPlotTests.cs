using System.Xml.Linq;
using GrmWorker.Worker.Evaluation;

namespace GrmWorker.Worker.Tests;

/// <summary>The hand-written SVG: well-formed, one marker per k and series, text escaped, any number of k values.</summary>
public sealed class EvalPlotTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    [Fact]
    public void The_plot_has_a_point_per_k_for_voting_and_meta_rm_a_greedy_line_and_an_adaptive_point()
    {
        var report = Report([1, 2, 4, 8, 16, 32], withMetaRm: true);

        var svg = XDocument.Parse(EvalPlot.Render(report, Info("held-out <v2> & more.jsonl"))).Root!;

        Assert.Equal(Svg + "svg", svg.Name);
        Assert.Equal(2, svg.Elements(Svg + "polyline").Count());
        Assert.Equal(6 + 1, svg.Elements(Svg + "circle").Count()); // voting points + legend
        Assert.Equal(6 + 1 + 1, svg.Elements(Svg + "rect").Count()); // meta-RM points + legend + background
        Assert.Contains(svg.Elements(Svg + "line"), l => (string?)l.Attribute("stroke-dasharray") is not null);
        var texts = svg.Elements(Svg + "text").Select(t => t.Value).ToArray();
        Assert.Contains(texts, t => t.Contains("held-out <v2> & more.jsonl", StringComparison.Ordinal));
        Assert.Contains("32", texts);
        Assert.Contains("meta-RM@k", texts);
        Assert.Contains(texts, t => t.StartsWith("adaptive ", StringComparison.Ordinal));
    }

    [Fact]
    public void A_single_k_without_a_meta_rm_still_plots()
    {
        var report = Report([4], withMetaRm: false);

        var svg = XDocument.Parse(EvalPlot.Render(report, Info("d.jsonl"))).Root!;

        Assert.Single(svg.Elements(Svg + "polyline"));
        Assert.DoesNotContain(svg.Elements(Svg + "text"), t => t.Value == "meta-RM@k");
        Assert.DoesNotContain("NaN", svg.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Swept_error_bounds_are_hollow_points_labelled_with_their_bound()
    {
        var report = Report([1, 2, 4, 8, 16, 32], withMetaRm: true) with
        {
            AdaptiveSweep = [new AdaptiveFigures(0.1, new EvalAccuracy(135, 200), 7.2, 7.2 / 32), new AdaptiveFigures(0.2, new EvalAccuracy(130, 200), 5.0, 5.0 / 32)],
        };

        var svg = XDocument.Parse(EvalPlot.Render(report, Info("d.jsonl"))).Root!;

        var diamonds = svg.Elements(Svg + "path").ToArray();
        Assert.Equal(3 + 2, diamonds.Length); // three on the plot, two in the legend
        Assert.Equal(3, diamonds.Count(d => (string?)d.Attribute("fill") == "white"));
        var texts = svg.Elements(Svg + "text").Select(t => t.Value).ToArray();
        Assert.Contains("δ 0.1", texts);
        Assert.Contains("δ 0.2", texts);
        Assert.Contains("adaptive, other δ", texts);
        Assert.Contains(texts, t => t.Contains("(δ 0.02)", StringComparison.Ordinal));
    }

    private static EvalMetricsReport Report(int[] ks, bool withMetaRm)
    {
        const int items = 200;
        var voting = ks.ToDictionary(k => k, k => new EvalAccuracy(120 + (int)(4 * Math.Log2(k)), items));
        var meta = withMetaRm ? ks.ToDictionary(k => k, k => new EvalAccuracy(121 + (int)(6 * Math.Log2(k)), items)) : null;
        return new EvalMetricsReport(items, ks[^1], new EvalAccuracy(118, items), voting, meta,
            new AdaptiveFigures(0.02, new EvalAccuracy(138, items), 9.5, 9.5 / ks[^1]), items * ks[^1], items * ks[^1] - 3, items, []);
    }

    private static EvalRunInfo Info(string data) => new(data, "grm-tiny-v1", "grm-tiny-meta-rm-v1", [1], 0.5, 512, 10, 1000, 5);
}
