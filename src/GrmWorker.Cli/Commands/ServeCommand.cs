using System.CommandLine;
using GrmWorker.Inference.Runtime;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Runs;
using Microsoft.Extensions.Hosting;

namespace GrmWorker.Cli.Commands;

/// <summary>`grm serve [--model DIR]`: the worker. Settings from appsettings.json and GRM_* environment variables.</summary>
internal static class ServeCommand
{
    public static Command Build()
    {
        var model = new Option<string?>("--model") { Description = "Model directory (default: setting Model:Directory, env GRM_MODEL__DIRECTORY)." };
        var command = new Command("serve", "Run the scoring worker: grm.score in, rows in Postgres, results to grm.rewards.") { model };
        command.SetAction(async (ParseResult result, CancellationToken cancellationToken) =>
        {
            var overrides = new Dictionary<string, string?>();
            if (result.GetValue(model) is { Length: > 0 } dir) overrides[$"{ModelOptions.Section}:Directory"] = dir;
            using var host = WorkerHost.CreateBuilder(overrides).Build();
            try
            {
                await host.RunAsync(cancellationToken);
            }
            catch (OrtRuntimeException ex)
            {
                // the model could not start where the settings asked (e.g. cuda without CUDA's libraries)
                await Console.Error.WriteLineAsync($"grm serve: {ex.Message}".AsMemory(), CancellationToken.None);
                return ExitCodes.Failure;
            }
            return 0;
        });
        return command;
    }
}
