using System.CommandLine;
using GrmWorker.App.Hosting;
using Microsoft.Extensions.Hosting;

namespace GrmWorker.App.Commands;

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
            await host.RunAsync(cancellationToken);
            return 0;
        });
        return command;
    }
}
