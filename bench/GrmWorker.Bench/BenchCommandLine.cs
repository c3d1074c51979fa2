using System.CommandLine;
using GrmWorker.Bench.Inference;
using GrmWorker.Bench.Pipeline;
using GrmWorker.Bench.Tokenizers;

namespace GrmWorker.Bench;

/// <summary>The root `grm-bench` command: each benchmark is a subcommand in its own folder.</summary>
internal static class BenchCommandLine
{
    public static RootCommand Build()
    {
        var root = new RootCommand("grm-bench: GrmWorker benchmarks (inference engine, tokenizer, worker pipeline); not part of the grm product.");
        root.Subcommands.Add(InferenceBenchCommand.Build());
        root.Subcommands.Add(TokenizerBenchCommand.Build());
        root.Subcommands.Add(PipelineBenchCommand.Build());
        return root;
    }
}
