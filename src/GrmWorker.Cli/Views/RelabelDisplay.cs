using System.Globalization;
using GrmWorker.Worker.Relabel;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace GrmWorker.Cli.Views;

/// <summary>
/// Shows a run's progress while <c>body</c> runs: a live Spectre progress bar on stderr (jobs/s, samples saved by
/// early stopping, rejected lines, ETA) when stderr is a terminal and --json is off; otherwise one plain line on
/// stderr every interval, so logs of a long run still show it moving.
/// </summary>
internal static class RelabelDisplay
{
    public static Task RunAsync(RelabelCounters counters, string title, bool live, TextWriter error, TimeSpan interval, Func<Task> body) =>
        live ? LiveAsync(counters, title, error, body) : PlainAsync(counters, title, error, interval, body);

    /// <summary>"relabel in.jsonl: 40/100 jobs (40.0%), 3.2 jobs/s, 12 samples saved, 1 rejected, ETA 0:00:19".</summary>
    public static string Line(RelabelCounters c, string title)
    {
        var share = c.ToSend == 0 ? 1 : (double)c.Completed / c.ToSend;
        var eta = c.Eta is { } t ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : "?";
        return string.Create(CultureInfo.InvariantCulture,
            $"{title}: {c.Completed}/{c.ToSend} jobs ({share * 100:F1}%), {c.JobsPerSecond:F1} jobs/s, {c.SamplesSaved} samples saved, {c.Rejected} rejected, ETA {eta}");
    }

    private static async Task PlainAsync(RelabelCounters counters, string title, TextWriter error, TimeSpan interval, Func<Task> body)
    {
        var work = body();
        while (await Task.WhenAny(work, Task.Delay(interval)) != work)
            await error.WriteLineAsync(Line(counters, title));
        await work;
    }

    private static async Task LiveAsync(RelabelCounters counters, string title, TextWriter error, Func<Task> body)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(error) });
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn { Width = 24 }, new PercentageColumn(), new StatsColumn(counters),
                new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(title), maxValue: Math.Max(1, counters.ToSend));
                var work = body();
                while (await Task.WhenAny(work, Task.Delay(TimeSpan.FromMilliseconds(200))) != work)
                    task.Value = counters.Completed;
                task.Value = counters.Completed;
                task.StopTask();
                await work;
            });
    }

    /// <summary>"3.2 jobs/s · 12 saved · 1 rejected".</summary>
    private sealed class StatsColumn(RelabelCounters counters) : ProgressColumn
    {
        protected override bool NoWrap => true;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Markup(string.Create(CultureInfo.InvariantCulture,
                $"[blue]{counters.JobsPerSecond:F1} jobs/s[/] · [green]{counters.SamplesSaved} saved[/] · [{(counters.Rejected > 0 ? "red" : "grey")}]{counters.Rejected} rejected[/]"));
    }
}
