using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrmWorker.Worker.Hosting;

/// <summary>
/// A small Kestrel server beside the worker: <c>/healthz</c> (the process answers), <c>/readyz</c> (migrations
/// applied, model loaded, bus healthy; 503 otherwise) and <c>/metrics</c> (Prometheus text). Its own tiny
/// WebApplication, so the worker stays a plain Generic Host that tests build with the same extensions.
/// </summary>
public sealed class HttpEndpointsHostedService(
    IOptions<HttpOptions> options,
    WorkerReadiness readiness,
    WorkerMetrics metrics,
    IServiceProvider services,
    ILoggerFactory loggerFactory) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    /// <summary>The address it listens on once started (the real port when 0 was asked for).</summary>
    public Uri? Address { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(options.Value.Url)) return;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(options.Value.Url);
        builder.Services.AddSingleton(loggerFactory);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", () =>
        {
            var bus = services.GetService<IBusControl>()?.CheckHealth();
            var problems = new List<string>();
            if (!readiness.Migrated) problems.Add("migrations not applied yet");
            if (!readiness.ModelLoaded) problems.Add("model not loaded yet");
            if (bus is null || bus.Status != BusHealthStatus.Healthy) problems.Add($"bus {bus?.Status.ToString() ?? "absent"}: {bus?.Description}");
            return problems.Count == 0
                ? Results.Text("ready\n")
                : Results.Text(string.Join('\n', problems) + "\n", statusCode: StatusCodes.Status503ServiceUnavailable);
        });
        app.MapGet("/metrics", () => Results.Text(metrics.Render(), "text/plain; version=0.0.4; charset=utf-8"));
        await app.StartAsync(cancellationToken);
        _app = app;
        Address = new Uri(app.Urls.First());
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null) await _app.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}
