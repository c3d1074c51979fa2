using System.CommandLine;

namespace GrmWorker.App.Commands;

/// <summary>`grm bench`: a parent for the benchmarks; each benchmark is a subcommand in its own file.</summary>
internal static class BenchCommand
{
    public static Command Build()
    {
        var bench = new Command("bench", "Benchmarks on the bundled model and tokenizers.");
        bench.Subcommands.Add(InferenceBenchCommand.Build());
        bench.Subcommands.Add(TokenizerBenchCommand.Build());
        bench.Subcommands.Add(PipelineBenchCommand.Build());
        return bench;
    }
}
