using System.Net.Http.Json;
using System.Text.Json;
using GrmWorker.Worker.Gateway;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace GrmWorker.Worker.Tests;

/// <summary>`grm gateway` in process (the same <see cref="GatewayHost"/> the command runs) on a free port, sending to a fixture's worker queue.</summary>
internal sealed class GatewayServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GatewayServer(WebApplication app, HttpClient http)
    {
        _app = app;
        Http = http;
    }

    public HttpClient Http { get; }

    public string Route => _app.Services.GetRequiredService<GatewayBroker>().Route;

    public static async Task<GatewayServer> StartAsync(string scoreQueue, IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Gateway:Url"] = "http://127.0.0.1:0",
            ["RabbitMq:ScoreQueue"] = scoreQueue,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var name in new[] { "Host", "Port", "VirtualHost", "Username", "Password" })
            all[$"RabbitMq:{name}"] = ServiceSettings.Get($"GRM_RABBITMQ__{name.ToUpperInvariant()}");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;
        var app = GatewayHost.Build(all);
        await app.StartAsync();
        return new GatewayServer(app, new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromMinutes(2) });
    }

    public async Task<(int Status, JsonElement Body)> PostAsync(string path, object body, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = body as HttpContent ?? JsonContent.Create(body) };
        if (token is not null) request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
