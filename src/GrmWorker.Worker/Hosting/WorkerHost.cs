using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace GrmWorker.Worker.Hosting;

/// <summary>The worker's Generic Host: appsettings.json, then environment variables <c>GRM_*</c> (<c>GRM_RABBITMQ__HOST</c>, ...), then overrides.</summary>
public static class WorkerHost
{
    public const string EnvironmentPrefix = "GRM_";

    public static HostApplicationBuilder CreateBuilder(IEnumerable<KeyValuePair<string, string?>>? overrides = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        builder.Configuration.AddEnvironmentVariables(EnvironmentPrefix);
        if (overrides is not null) builder.Configuration.AddInMemoryCollection(overrides);
        builder.Services.AddGrmWorker(builder.Configuration);
        return builder;
    }
}
