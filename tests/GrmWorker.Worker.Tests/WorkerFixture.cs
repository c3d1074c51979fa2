using System.Globalization;
using System.Security.Cryptography;
using GrmWorker.Worker.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using RabbitMQ.Client;

namespace GrmWorker.Worker.Tests;

[CollectionDefinition(Name)]
public sealed class WorkerCollection : ICollectionFixture<WorkerFixture>
{
    public const string Name = "worker";
}

/// <summary>
/// The worker hosted in-process, built with the same Add* extensions as `grm serve`, over the real local RabbitMQ and
/// Postgres and the bundled tiny model. Isolation: its own database (grm_test_*) and its own request queue
/// (grm.score.test-*, with its _error queue); results go to the shared grm.rewards exchange and each test binds its
/// own routes. Services not reachable fail every test with a message naming deploy/local/services-up.sh.
/// </summary>
public class WorkerFixture : IAsyncLifetime
{
    public const string ResultExchange = "grm.rewards";
    public const int KMax = 2;
    public const int MaxNewTokens = 4;

    private readonly string _suffix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
    private string _adminConnectionString = "";
    private IHost? _host;

    public string ScoreQueue => $"grm.score.test-{_suffix}";

    public string ErrorQueue => ScoreQueue + "_error";

    /// <summary>Where MassTransit would park messages no consumer took; the worker must never leave one there.</summary>
    public string SkippedQueue => ScoreQueue + "_skipped";

    public string DatabaseName { get; } = string.Create(CultureInfo.InvariantCulture,
        $"grm_test_{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");

    public NpgsqlDataSource Database { get; private set; } = null!;

    /// <summary>The test database's connection string (secrets included: never print it).</summary>
    public string ConnectionString { get; private set; } = "";

    public AmqpTestClient Amqp { get; private set; } = null!;

    /// <summary>Where the worker's /healthz, /readyz and /metrics answer.</summary>
    public Uri HttpAddress { get; private set; } = null!;

    /// <summary>A routing key no other test uses.</summary>
    public static string NewRoute() => $"test.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";

    public static string NewRequestId() => $"req-{Guid.NewGuid():N}";

    public async Task InitializeAsync()
    {
        _adminConnectionString = ServiceSettings.Get(ServiceSettings.TestPostgres);
        var factory = ServiceSettings.RabbitMqFactory();
        Amqp = await AmqpTestClient.ConnectAsync(factory);
        await TestDatabases.CreateAsync(_adminConnectionString, DatabaseName);
        var connectionString = ConnectionString = new NpgsqlConnectionStringBuilder(_adminConnectionString) { Database = DatabaseName }.ConnectionString;
        Database = NpgsqlDataSource.Create(connectionString);

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, Args = [] });
        var settings = new Dictionary<string, string?>
        {
            ["Postgres:ConnectionString"] = connectionString,
            ["RabbitMq:Host"] = factory.HostName,
            ["RabbitMq:Port"] = factory.Port.ToString(CultureInfo.InvariantCulture),
            ["RabbitMq:VirtualHost"] = factory.VirtualHost,
            ["RabbitMq:Username"] = factory.UserName,
            ["RabbitMq:Password"] = factory.Password,
            ["RabbitMq:ScoreQueue"] = ScoreQueue,
            ["RabbitMq:ResultExchange"] = ResultExchange,
            ["Model:Directory"] = Path.Combine(ServiceSettings.RepoRoot, "models", "tiny-random"),
            ["Inference:IntraOpThreads"] = "1",
            ["Stopping:KMax"] = KMax.ToString(CultureInfo.InvariantCulture),
            ["Stopping:KMin"] = KMax.ToString(CultureInfo.InvariantCulture),
            ["Stopping:RoundSize"] = KMax.ToString(CultureInfo.InvariantCulture),
            ["Worker:DefaultMaxNewTokens"] = MaxNewTokens.ToString(CultureInfo.InvariantCulture),
            ["Worker:BatchTimeLimit"] = "00:00:00.150",
            ["Http:Url"] = "http://127.0.0.1:0",
        };
        ConfigureSettings(settings);
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddGrmWorker(builder.Configuration);
        ConfigureServices(builder.Services);
        _host = builder.Build();
        await _host.StartAsync();
        HttpAddress = _host.Services.GetRequiredService<HttpEndpointsHostedService>().Address!;
    }

    /// <summary>The worker's settings before the host is built: a derived fixture changes the model or k here.</summary>
    protected virtual void ConfigureSettings(IDictionary<string, string?> settings)
    {
    }

    /// <summary>Runs after the worker's own registrations: a derived fixture swaps a service here.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
        }
        if (Amqp is not null)
        {
            await Amqp.DeleteQueueAsync(ScoreQueue);
            await Amqp.DeleteQueueAsync(ErrorQueue);
            await Amqp.DeleteQueueAsync(SkippedQueue);
            await Amqp.DisposeAsync();
        }
        if (Database is not null) await Database.DisposeAsync();
        await TestDatabases.DropAsync(_adminConnectionString, DatabaseName);
    }

    public Task<T?> ScalarAsync<T>(string sql, params object[] parameters) => Database.ScalarAsync<T>(sql, parameters);
}
