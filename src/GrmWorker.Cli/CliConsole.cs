using GrmWorker.Worker.Runs;
using Spectre.Console;

namespace GrmWorker.Cli;

/// <summary>A Spectre console over the environment's stdout: colour and live widgets only on a terminal.</summary>
internal static class CliConsole
{
    /// <summary>Width of tables when stdout is a file or a pipe (a terminal reports its own).</summary>
    public const int RedirectedWidth = 160;

    private const int MinimumWidth = 40;

    public static IAnsiConsole Create(RunEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(environment.Out),
            Ansi = environment.Interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = environment.Interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = environment.Interactive ? InteractionSupport.Detect : InteractionSupport.No,
        });
        // A file or pipe has no width; neither has a terminal that reports none (a pty without a size).
        if (!environment.Interactive || console.Profile.Width < MinimumWidth) console.Profile.Width = RedirectedWidth;
        return console;
    }
}
