using GrmWorker.Contracts;
using GrmWorker.Worker.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrmWorker.Worker.Gateway;

/// <summary>
/// `grm gateway`: the HTTP front door. Stateless and model-free (any number behind a load balancer); the workers stay
/// the only place models run. Settings as the worker's: appsettings.json, <c>GRM_*</c> variables, then overrides.
/// </summary>
public static class GatewayHost
{
    public static WebApplication Build(IEnumerable<KeyValuePair<string, string?>>? overrides = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Configuration.AddEnvironmentVariables(WorkerHost.EnvironmentPrefix);
        if (overrides is not null) builder.Configuration.AddInMemoryCollection(overrides);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Services.AddSettings<RabbitMqOptions>(builder.Configuration, RabbitMqOptions.Section, RabbitMqOptions.Problems);
        builder.Services.AddSettings<GatewayOptions>(builder.Configuration, GatewayOptions.Section, GatewayOptions.Problems);
        // The workers' own limits: a call the workers would reject is answered 400 here, one they take is never refused.
        builder.Services.AddSettings<ValidationLimits>(builder.Configuration, ValidationLimits.Section, ValidationLimits.Problems);
        builder.Services.AddSingleton<GatewayBroker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<GatewayBroker>());
        var gateway = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();
        builder.WebHost.UseUrls(gateway.Url);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = gateway.MaxRequestBytes);
        var app = builder.Build();
        GatewayEndpoints.Map(app);
        return app;
    }
}
