using System.CommandLine;
using GrmWorker.Worker.Gateway;
using GrmWorker.Worker.Runs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace GrmWorker.Cli.Commands;

/// <summary>`grm gateway [--url URL]`: the HTTP gateway (OpenRLHF's /get_reward, /v1/score). Needs RabbitMQ, no model.</summary>
internal static class GatewayCommand
{
    public static Command Build()
    {
        var url = new Option<string?>("--url") { Description = "Where to listen (default: setting Gateway:Url, env GRM_GATEWAY__URL, http://0.0.0.0:8090)." };
        var command = new Command("gateway", "Run the HTTP gateway: OpenRLHF's POST /get_reward and POST /v1/score, answered by the workers on grm.score.") { url };
        command.SetAction(async (ParseResult result, CancellationToken cancellationToken) =>
        {
            var overrides = new Dictionary<string, string?>();
            if (result.GetValue(url) is { Length: > 0 } u) overrides[$"{GatewayOptions.Section}:Url"] = u;
            try
            {
                await using var app = GatewayHost.Build(overrides);
                await app.StartAsync(cancellationToken);
                await app.WaitForShutdownAsync(cancellationToken);
            }
            catch (OptionsValidationException ex)
            {
                await Console.Error.WriteLineAsync($"grm gateway: {string.Join("; ", ex.Failures)}".AsMemory(), CancellationToken.None);
                return ExitCodes.BadInput;
            }
            return 0;
        });
        return command;
    }
}
