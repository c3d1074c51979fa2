using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace GrmWorker.Cli.Views;

/// <summary>Renders a <see cref="JobTrace"/>: header, query and responses, one block per sample, the rewards per strategy.</summary>
internal static class JobTraceView
{
    public static void Render(IAnsiConsole console, JobTrace trace, bool rawText)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(trace);
        console.Write(Header(trace));
        if (trace.Query is { } query) console.Write(Labelled("query", query));
        if (trace.Reference is { } reference) console.Write(Labelled("reference", reference));
        console.Write(Responses(trace));
        foreach (var sample in trace.Samples) RenderSample(console, sample, rawText);
        console.Write(new Rule("rewards").LeftJustified());
        console.Write(trace.Rewards.Count > 0 ? RewardsTable(trace) : new Text("no reward rows\n"));
    }

    public static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    private static Grid Header(JobTrace t)
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        var status = t.Status switch { "scored" => "green", "rejected" => "yellow", _ => "red" };
        grid.AddRow(new Markup("[bold]job[/]"), new Markup(
            $"[bold]{Markup.Escape(t.RequestId)}[/]{(t.JobId is { } id ? $" (id {id})" : " (not stored)")}  [{status}]{Markup.Escape(t.Status)}[/]"));
        if (t.Error is { } error) grid.AddRow(new Markup("[bold]error[/]"), new Text($"{error.Code}: {error.Message}"));
        grid.AddRow(new Markup("[bold]route[/]"), new Text(t.Route));
        grid.AddRow(new Markup("[bold]model[/]"), new Text($"{t.ModelId ?? "-"} · prompt {t.PromptVersion ?? "-"} · aggregation {t.Aggregation ?? "-"}"));
        grid.AddRow(new Markup("[bold]samples[/]"), new Text($"{t.SamplesUsed} used, {t.SamplesValid} valid · stop: {t.Stop}"));
        grid.AddRow(new Markup("[bold]cost[/]"), new Text(
            $"{Millis(t.LatencyMs)} ms · {t.Tokens.Prompt} prompt + {t.Tokens.Generated} generated tokens"));
        grid.AddRow(new Markup("[bold]times[/]"), new Text(
            $"received {Time(t.ReceivedAt)} · completed {Time(t.CompletedAt)}{(t.CreatedAt is { } c ? $" · stored {Time(c)}" : "")}"));
        return grid;
    }

    private static Grid Labelled(string label, string text) =>
        new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn().AddRow(new Markup($"[bold]{label}[/]"), new Text(text));

    private static Table Responses(JobTrace t)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("responses").AddColumn("#").AddColumn("response");
        for (var i = 0; i < t.Responses.Count; i++) table.AddRow(new Text(I(i)), new Text(t.Responses[i]));
        return table;
    }

    private static void RenderSample(IAnsiConsole console, TraceSample s, bool rawText)
    {
        var meta = s.MetaScore is { } m ? $" · meta {Number(m)}" : "";
        var status = s.Valid ? "[green]ok[/]" : $"[red]{Markup.Escape(s.ParseStatus)}[/]";
        console.Write(new Rule(
            $"sample {s.Index} · seed {s.Seed} · shown [[{string.Join(",", s.Permutation)}]] · {status}{meta} · " +
            $"{s.PromptTokens}+{s.GeneratedTokens} tokens · {Millis(s.LatencyMs)} ms").LeftJustified());
        if (s.ParseReason is { } reason) console.Write(Labelled("parse", reason));
        if (s.Principles.Count > 0)
        {
            var principles = new Table().Border(TableBorder.Simple).AddColumn("#").AddColumn("weight").AddColumn("principle");
            foreach (var p in s.Principles)
                principles.AddRow(new Text(I(p.Ordinal + 1)), new Text(p.Weight is { } w ? $"{Number(w * 100)}%" : "-"), new Text(p.Text));
            console.Write(principles);
        }
        var judgements = new Table().Border(TableBorder.Simple)
            .AddColumn("response").AddColumn("shown at").AddColumn(new TableColumn("score").RightAligned()).AddColumn("critique");
        foreach (var j in s.Judgements)
        {
            judgements.AddRow(new Text(I(j.ResponseIndex)), new Text(j.ShownAt >= 0 ? I(j.ShownAt + 1) : "-"),
                new Text(j.Score is { } score ? I(score) : "-"), new Text(j.Critique ?? "-"));
        }
        console.Write(judgements);
        if (rawText) console.Write(new Panel(new Text(s.RawText)).Header("raw text").Border(BoxBorder.Rounded).Expand());
    }

    private static Table RewardsTable(JobTrace t)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("strategy");
        for (var i = 0; i < t.Responses.Count; i++) table.AddColumn(new TableColumn($"response {i}").RightAligned());
        table.AddColumn(new TableColumn("best").RightAligned());
        foreach (var r in t.Rewards)
        {
            var cells = new List<IRenderable> { new Text(r.Strategy) };
            for (var i = 0; i < t.Responses.Count; i++)
            {
                var cell = r.Rewards[i] is { } v ? Number(v) + (r.VoteSums[i] is { } sum ? $" (Σ {Number(sum)})" : "") : "-";
                cells.Add(i == r.Best ? new Markup($"[bold]{Markup.Escape(cell)}[/]") : new Text(cell));
            }
            cells.Add(new Text(r.Best >= 0 ? I(r.Best) : "-"));
            table.AddRow(cells);
        }
        return table;
    }

    private static string Millis(double ms) => ms.ToString("0.#", CultureInfo.InvariantCulture);

    private static string Time(DateTimeOffset at) => at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
}
