using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using GrmWorker.Storage;
using GrmWorker.Storage.Migrations;
using GrmWorker.Testing;
using GrmWorker.Worker.Pipeline;
using GrmWorker.Worker.Runs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using RabbitMQ.Client;

namespace GrmWorker.Worker.Tests;

/// <summary>
/// For the `grm score / replay / jobs` tests: a private migrated database on the local Postgres, the local RabbitMQ,
/// and settings that point the commands at them with the bundled model and meta-RM. Commands run in-process through
/// <see cref="Run"/>, with a <see cref="CannedGrmGenerator"/> in place of the GRM (the random-weight model never writes a
/// parsable sample) unless a test asks for the real model.
/// </summary>
public sealed class CliFixture : IAsyncLifetime
{
    public static string ModelDir { get; } = Path.Combine(ServiceSettings.RepoRoot, "models", "tiny-random");

    public static string MetaRmDir { get; } = Path.Combine(ModelDir, "meta-rm");

    private string _adminConnectionString = "";

    public string DatabaseName { get; } = string.Create(CultureInfo.InvariantCulture,
        $"grm_test_{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");

    public string ConnectionString { get; private set; } = "";

    public NpgsqlDataSource Database { get; private set; } = null!;

    public JobWriter Writer { get; private set; } = null!;

    public AmqpTestClient Amqp { get; private set; } = null!;

    public CannedGrmGenerator Canned { get; } = CannedGrmGenerator.Load(ModelDir);

    public Dictionary<string, string?> Settings { get; } = [];

    public async Task InitializeAsync()
    {
        _adminConnectionString = ServiceSettings.Get(ServiceSettings.TestPostgres);
        await TestDatabases.CreateAsync(_adminConnectionString, DatabaseName);
        ConnectionString = new NpgsqlConnectionStringBuilder(_adminConnectionString) { Database = DatabaseName }.ConnectionString;
        Database = StorageDataSource.Create(new StorageOptions { ConnectionString = ConnectionString });
        await new MigrationRunner(Database, Migration.Embedded(), TimeSpan.FromMinutes(1)).RunAsync(CancellationToken.None);
        Writer = new JobWriter(Database);
        var factory = ServiceSettings.RabbitMqFactory();
        Amqp = await AmqpTestClient.ConnectAsync(factory);
        Settings["Postgres:ConnectionString"] = ConnectionString;
        Settings["RabbitMq:Host"] = factory.HostName;
        Settings["RabbitMq:Port"] = factory.Port.ToString(CultureInfo.InvariantCulture);
        Settings["RabbitMq:VirtualHost"] = factory.VirtualHost;
        Settings["RabbitMq:Username"] = factory.UserName;
        Settings["RabbitMq:Password"] = factory.Password;
        Settings["RabbitMq:ResultExchange"] = WorkerFixture.ResultExchange;
        Settings["Model:Directory"] = ModelDir;
        Settings["Model:MetaRmDirectory"] = MetaRmDir;
        Settings["Inference:IntraOpThreads"] = "1";
        Settings["Stopping:KMin"] = "2";
        Settings["Stopping:RoundSize"] = "2";
        Settings["Worker:DefaultMaxNewTokens"] = "256";
    }

    public async Task DisposeAsync()
    {
        if (Amqp is not null) await Amqp.DisposeAsync();
        if (Database is not null) await Database.DisposeAsync();
        await TestDatabases.DropAsync(_adminConnectionString, DatabaseName);
    }

    /// <summary>Runs a command in-process; <paramref name="realModel"/> keeps the bundled GRM instead of the replayed texts.</summary>
    internal async Task<CliRun> Run(Func<RunEnvironment, Task<int>> command, IReadOnlyDictionary<string, string?>? settings = null, bool realModel = false)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var merged = new Dictionary<string, string?>(Settings);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) merged[key] = value;
        var environment = new RunEnvironment(stdout, stderr)
        {
            Settings = merged,
            ConfigureServices = realModel ? null : s => s.Replace(ServiceDescriptor.Singleton<IGrmGenerator>(Canned)),
        };
        var exitCode = await command(environment);
        return new CliRun(exitCode, stdout.ToString(), stderr.ToString());
    }

    public Task<T?> ScalarAsync<T>(string sql, params object[] parameters) => Database.ScalarAsync<T>(sql, parameters);

    /// <summary>The reward values of one job and strategy, in response order ("" when it has none).</summary>
    public async Task<double[]> RewardsAsync(string requestId, string strategy)
    {
        var text = await ScalarAsync<string>(
            "SELECT string_agg(r.value::text, ',' ORDER BY r.response_index) FROM rewards r JOIN scoring_jobs j ON j.id = r.job_id " +
            "WHERE j.request_id = $1 AND r.strategy = $2", requestId, strategy);
        return text is null ? [] : [.. text.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture))];
    }

    public static string NewRequestId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";
}

/// <summary>What an in-process command run printed and returned.</summary>
public sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    public JsonElement Json => JsonDocument.Parse(Stdout).RootElement;

    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}
