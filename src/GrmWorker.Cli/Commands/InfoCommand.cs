using System.CommandLine;
using System.Reflection;
using System.Text.Json.Nodes;
using GrmWorker.Inference;
using GrmWorker.Inference.Runtime;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Runs;
using Microsoft.Extensions.Configuration;

namespace GrmWorker.Cli.Commands;

/// <summary>
/// `grm info [--model DIR] [--execution-provider cpu|cuda] [--json]`: which ONNX Runtime this build runs (version,
/// the library file it loaded, its execution providers, the GrmExecution flavour it was built with), and with
/// --model or --execution-provider whether a session starts there: the first thing to run on a new (GPU) host.
/// The Inference settings come from the GRM_INFERENCE__* environment like the worker's.
/// </summary>
internal static class InfoCommand
{
    public static Command Build()
    {
        var model = new Option<string?>("--model") { Description = "Load this model directory's ONNX file (default with --execution-provider: models/grm-tiny)." };
        var provider = new Option<ExecutionProviderKind?>("--execution-provider") { Description = "cpu or cuda: start a session on it (overrides Inference:ExecutionProvider)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var command = new Command("info", "ONNX Runtime version, library, execution providers; optionally start a session on a provider.") { model, provider, json };
        command.SetAction((ParseResult r, CancellationToken ct) => Task.FromResult(Run(r.GetValue(model), r.GetValue(provider), r.GetValue(json), Console.Out, Console.Error)));
        return command;
    }

    private static int Run(string? modelDir, ExecutionProviderKind? provider, bool json, TextWriter stdout, TextWriter stderr)
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables(WorkerHost.EnvironmentPrefix).Build();
        var options = configuration.GetSection(InferenceOptions.Section).Get<InferenceOptions>() ?? new InferenceOptions();
        options.ExecutionProvider = provider ?? options.ExecutionProvider;
        var report = new JsonObject { ["build"] = BuildFlavour() };
        try
        {
            OrtLibrary.Configure(options.OrtLibraryPath);
            report["onnxRuntime"] = OrtLibrary.Version();
            report["library"] = OrtLibrary.LoadedPath();
            report["providers"] = new JsonArray([.. OrtLibrary.AvailableProviders().Select(p => (JsonNode)p)]);
            if (modelDir is not null || provider is not null)
            {
                var config = ModelConfig.Load(modelDir ?? "models/grm-tiny");
                options.KvCacheBudget ??= options.ExecutionProvider == ExecutionProviderKind.Cuda ? 1L << 30 : null; // not used: the session alone is checked
                using var lm = CausalLm.Load(config, options);
                report["session"] = new JsonObject
                {
                    ["model"] = config.ModelPath,
                    ["executionProvider"] = options.ExecutionProvider.ToString().ToLowerInvariant(),
                    ["kvBytesPerToken"] = lm.KvBytesPerToken,
                };
            }
        }
        catch (Exception ex) when (ex is OrtRuntimeException or ModelConfigException or NotSupportedException or FileNotFoundException or ArgumentException)
        {
            report["error"] = ex.Message;
        }
        if (json)
        {
            stdout.WriteLine(report.ToJsonString());
        }
        else
        {
            foreach (var (key, value) in report.Where(p => p.Key != "error"))
            {
                stdout.WriteLine($"{key}: {(value is JsonValue v ? v.ToString() : value?.ToJsonString())}");
            }
        }
        if (report["error"] is { } error && !json)
        {
            stderr.WriteLine($"grm info: {error}");
        }
        return report["error"] is null ? ExitCodes.Ok : ExitCodes.Failure;
    }

    /// <summary>The GrmExecution property the Inference assembly was built with (cpu or cuda).</summary>
    private static string BuildFlavour() =>
        typeof(CausalLm).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "GrmExecution")?.Value ?? "unknown";
}
