using System.CommandLine;

namespace GrmWorker.Cli.Commands;

/// <summary>The root `grm` command; each subcommand lives in its own file and is added here.</summary>
internal static class GrmCommandLine
{
    public static RootCommand Build()
    {
        var root = new RootCommand("GrmWorker: generative reward model scoring (DeepSeek-GRM style).");
        // Subcommands (one line each):
        root.Subcommands.Add(SimulateCommand.Build());
        root.Subcommands.Add(GenerateCommand.Build());
        root.Subcommands.Add(TokenizeCommand.Build());
        root.Subcommands.Add(DbCommand.Build());
        root.Subcommands.Add(ServeCommand.Build());
        root.Subcommands.Add(GatewayCommand.Build());
        root.Subcommands.Add(EvalCommand.Build());
        root.Subcommands.Add(StoppingCommand.Build());
        root.Subcommands.Add(RelabelCommand.Build());
        root.Subcommands.Add(ScoreCommand.Build());
        root.Subcommands.Add(ReplayCommand.Build());
        root.Subcommands.Add(JobsCommand.Build());
        root.Subcommands.Add(InfoCommand.Build());
        return root;
    }
}
