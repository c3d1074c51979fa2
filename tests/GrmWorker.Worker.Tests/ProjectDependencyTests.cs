using System.Reflection;
using GrmWorker.Contracts;
using GrmWorker.Inference;
using GrmWorker.Scoring.Aggregation;
using GrmWorker.Storage;
using GrmWorker.Worker.Pipeline;

namespace GrmWorker.Worker.Tests;

/// <summary>
/// Dependencies point inwards (Cli -> Worker -> Storage, Inference, Scoring -> Contracts), and the product carries no
/// bench, no test double and, below the CLI, no command-line or console library. Read from the built assemblies.
/// </summary>
public sealed class ProjectDependencyTests
{
    private static readonly string[] NeverInTheProduct = ["GrmWorker.Testing", "GrmWorker.Bench", "xunit.core"];

    public static TheoryData<string, string[]> Forbidden => new()
    {
        { "GrmWorker.Contracts", ["GrmWorker.Scoring", "GrmWorker.Inference", "GrmWorker.Storage", "GrmWorker.Worker", "grm"] },
        { "GrmWorker.Scoring", ["GrmWorker.Inference", "GrmWorker.Storage", "GrmWorker.Worker", "grm", "Npgsql", "Microsoft.ML.OnnxRuntime"] },
        { "GrmWorker.Inference", ["GrmWorker.Storage", "GrmWorker.Worker", "grm", "Npgsql"] },
        { "GrmWorker.Storage", ["GrmWorker.Inference", "GrmWorker.Worker", "grm", "Microsoft.ML.OnnxRuntime"] },
        { "GrmWorker.Worker", ["grm", "System.CommandLine", "Spectre.Console"] },
        { "grm", [] },
    };

    [Theory]
    [MemberData(nameof(Forbidden))]
    public void A_product_assembly_references_only_what_lies_inwards_and_no_bench_or_test_double(string assembly, string[] forbidden)
    {
        var referenced = Load(assembly).GetReferencedAssemblies().Select(a => a.Name!).ToHashSet(StringComparer.Ordinal);

        var wrong = referenced.Intersect([.. forbidden, .. NeverInTheProduct]).ToArray();

        Assert.True(wrong.Length == 0, $"{assembly} references {string.Join(", ", wrong)}");
    }

    [Fact]
    public void The_worker_is_a_library_and_grm_the_executable_that_uses_it()
    {
        Assert.Null(typeof(JobService).Assembly.EntryPoint);
        Assert.NotNull(Load("grm").EntryPoint);
        var grmReferences = Load("grm").GetReferencedAssemblies().Select(a => a.Name).ToArray();
        Assert.Contains("GrmWorker.Worker", grmReferences);
        Assert.Contains("System.CommandLine", grmReferences); // the command-line library lives in the executable only
    }

    private static Assembly Load(string name) => name switch
    {
        "GrmWorker.Contracts" => typeof(ScoreRequest).Assembly,
        "GrmWorker.Scoring" => typeof(Voting).Assembly,
        "GrmWorker.Inference" => typeof(CausalLm).Assembly,
        "GrmWorker.Storage" => typeof(JobWriter).Assembly,
        "GrmWorker.Worker" => typeof(JobService).Assembly,
        _ => Assembly.Load(name),
    };
}
