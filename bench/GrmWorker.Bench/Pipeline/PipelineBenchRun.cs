using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using GrmWorker.Storage;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Messaging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace GrmWorker.Bench.Pipeline;


/// <summary>One run's scratch state: databases, queues, the AMQP connection; all of it removed on dispose.</summary>
internal sealed partial class PipelineBenchRun(string adminConnection, RabbitMqOptions rabbit, IConfiguration environment, string modelDir) : IAsyncDisposable
{
    private readonly string _suffix = string.Create(CultureInfo.InvariantCulture,
        $"{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
    private readonly List<string> _databases = [];
    private readonly List<string> _queues = [];
    private readonly List<NpgsqlDataSource> _dataSources = [];
    private int _replayedJobs;
    private IConnection? _connection;
    private IChannel? _channel;

    public async Task ConnectAsync(CancellationToken ct)
    {
        try
        {
            await using var admin = new NpgsqlConnection(adminConnection);
            await admin.OpenAsync(ct);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException or ArgumentException)
        {
            throw new BenchException($"Postgres is not reachable at {StorageDataSource.Describe(adminConnection)}: {ex.Message}. {PipelineBenchCommand.Hint}", ex);
        }
        var factory = RabbitMqConnections.Factory(rabbit, "grm-bench-pipeline");
        factory.AutomaticRecoveryEnabled = false;
        try
        {
            _connection = await factory.CreateConnectionAsync(ct);
        }
        catch (BrokerUnreachableException ex)
        {
            throw new BenchException($"RabbitMQ is not reachable at {rabbit.Host}:{rabbit.Port} vhost '{rabbit.VirtualHost}': {ex.InnerException?.Message ?? ex.Message}. {PipelineBenchCommand.Hint}", ex);
        }
        _channel = await RabbitMqConnections.ConfirmedChannelAsync(_connection, ct);
        await _channel.ExchangeDeclareAsync(rabbit.ResultExchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: ct);
    }

    private string Queue(string phase) => $"grm.score.bench-{_suffix}-{phase}";

    private string ConnectionStringOf(int index) => new NpgsqlConnectionStringBuilder(adminConnection) { Database = _databases[index] }.ConnectionString;

    private async Task<(TimeSpan Wall, IReadOnlyDictionary<string, int> Statuses)> HostAndRunAsync(
        (NpgsqlDataSource DataSource, string ConnectionString) database, string phase, PipelineSettings s, Action<IServiceCollection> configure,
        Func<IHost, ResultCollector, CancellationToken, Task<(TimeSpan, IReadOnlyDictionary<string, int>)>> body, string route, CancellationToken ct,
        int? batchMessageLimit = null)
    {
        var queue = Queue(phase);
        _queues.Add(queue);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, Args = [] });
        builder.Configuration.AddConfiguration(environment);
        var k = s.Samples.ToString(CultureInfo.InvariantCulture);
        var overrides = new Dictionary<string, string?>
        {
            ["Postgres:ConnectionString"] = database.ConnectionString,
            ["RabbitMq:ScoreQueue"] = queue,
            ["Model:Directory"] = modelDir,
            // Meta scores are model work too (and voting jobs do not need them): neither phase loads the meta-RM.
            ["Model:MetaRmDirectory"] = "none",
            ["Http:Url"] = "",
        };
        if (batchMessageLimit is { } limit) overrides["Worker:BatchMessageLimit"] = limit.ToString(CultureInfo.InvariantCulture);
        if (s.Concurrency > 0)
        {
            overrides["Worker:ConcurrencyLimit"] = s.Concurrency.ToString(CultureInfo.InvariantCulture);
            overrides["RabbitMq:Prefetch"] = Math.Max(rabbit.Prefetch, s.Concurrency * new WorkerOptions().BatchMessageLimit).ToString(CultureInfo.InvariantCulture);
        }
        if (s.Samples > 0)
        {
            // Every replayed job draws exactly k samples in one round.
            overrides["Stopping:KMax"] = k;
            overrides["Stopping:KMin"] = k;
            overrides["Stopping:RoundSize"] = k;
        }
        builder.Configuration.AddInMemoryCollection(overrides);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddGrmWorker(builder.Configuration);
        configure(builder.Services);

        await using var results = await ResultCollector.StartAsync(_connection!, rabbit.ResultExchange, route, ct);
        using var host = builder.Build();
        await host.StartAsync(ct);
        try
        {
            var (wall, statuses) = await body(host, results, ct);
            return (wall, statuses);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    private async Task PublishAsync(string queue, string body, CancellationToken ct) =>
        await _channel!.BasicPublishAsync("", queue, mandatory: false, new BasicProperties { DeliveryMode = DeliveryModes.Persistent }, Encoding.UTF8.GetBytes(body), ct);

    private async Task<(NpgsqlDataSource DataSource, string ConnectionString)> CreateDatabaseAsync(string purpose, CancellationToken ct)
    {
        var name = $"grm_bench_{_suffix}_{purpose}";
        await ExecuteAdminAsync($"CREATE DATABASE {name}", ct);
        _databases.Add(name);
        var connectionString = new NpgsqlConnectionStringBuilder(adminConnection) { Database = name }.ConnectionString;
        var dataSource = NpgsqlDataSource.Create(connectionString);
        _dataSources.Add(dataSource);
        return (dataSource, connectionString);
    }

    private async Task ExecuteAdminAsync(string sql, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(adminConnection);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<IReadOnlyDictionary<string, long>> CountRowsAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        var rows = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var table in PipelineBenchCommand.Tables)
        {
            await using var command = dataSource.CreateCommand($"SELECT count(*) FROM {table}");
            rows[table] = (long)(await command.ExecuteScalarAsync(ct))!;
        }
        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        // Databases first: a broker failure here must not leave them behind.
        foreach (var ds in _dataSources) await ds.DisposeAsync();
        foreach (var name in _databases)
        {
            try
            {
                await ExecuteAdminAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", CancellationToken.None);
            }
            catch (NpgsqlException ex)
            {
                await Console.Error.WriteLineAsync($"grm-bench pipeline: could not drop scratch database {name}: {ex.Message}");
            }
        }
        if (_connection is null) return;
        foreach (var queue in _queues)
        {
            try
            {
                await using var channel = await _connection.CreateChannelAsync();
                await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
                await channel.QueueDeleteAsync(queue + "_error", ifUnused: false, ifEmpty: false);
                await channel.ExchangeDeleteAsync(queue, ifUnused: false);
            }
            catch (RabbitMQClientException ex)
            {
                await Console.Error.WriteLineAsync($"grm-bench pipeline: could not delete scratch queue {queue}: {ex.Message}");
            }
        }
        if (_channel is not null) await _channel.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
