using System.Globalization;
using System.Security.Cryptography;
using GrmWorker.Storage.Migrations;
using Npgsql;

namespace GrmWorker.Storage.Tests;

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "Postgres";
}

/// <summary>
/// The local Postgres of deploy/local/services-up.sh (the tests' role, GRM_LOCAL_TEST_POSTGRES, from the environment or
/// .local/credentials.env). Not reachable means every test fails with a message naming the script: these
/// tests never skip. Isolation: each test class (or test) gets its own database, created by the tests' role (the
/// worker's role grm may not create databases).
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private const string EnvName = "GRM_LOCAL_TEST_POSTGRES";
    private const string Hint = "Start it with deploy/local/services-up.sh (deploy/local/test.sh does this before the tests).";

    public string ConnectionString { get; private set; } = "";

    public static string RepoRoot { get; } = FindRepoRoot();

    public async Task InitializeAsync()
    {
        ConnectionString = ReadConnectionString();
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { Timeout = 5, Pooling = false };
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            throw new InvalidOperationException(
                $"Postgres is not reachable at {StorageDataSource.Describe(ConnectionString)}: {ex.Message}. {Hint}", ex);
        }
        await DropStaleDatabasesAsync();
    }

    public async Task DisposeAsync()
    {
        if (_shared is not null) await (await _shared).DisposeAsync();
    }

    private Task<TestDatabase>? _shared;

    /// <summary>One migrated database shared by the tests of the run that isolate by unique request ids.</summary>
    public Task<TestDatabase> SharedMigratedDatabaseAsync() => _shared ??= CreateMigratedAsync();

    private async Task<TestDatabase> CreateMigratedAsync()
    {
        var db = await CreateDatabaseAsync();
        await db.Runner().RunAsync(CancellationToken.None);
        return db;
    }

    /// <summary>A fresh empty database owned by the test role; dropped when disposed.</summary>
    public async Task<TestDatabase> CreateDatabaseAsync()
    {
        var name = string.Create(CultureInfo.InvariantCulture,
            $"grm_test_{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
        await ExecuteAsync($"CREATE DATABASE {name}");
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name };
        return new TestDatabase(this, name, builder.ConnectionString);
    }

    internal async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    // Databases of earlier runs that died before dropping theirs (names carry their creation time).
    private async Task DropStaleDatabasesAsync()
    {
        var stale = new List<string>();
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                "SELECT datname FROM pg_database WHERE datname LIKE 'grm\\_test\\_%' AND pg_get_userbyid(datdba) = current_user", connection);
            await using var reader = await command.ExecuteReaderAsync();
            var cutoff = DateTimeOffset.UtcNow.AddHours(-6).ToUnixTimeSeconds();
            while (await reader.ReadAsync())
            {
                var name = reader.GetString(0);
                var parts = name.Split('_');
                if (parts.Length == 4 && long.TryParse(parts[2], CultureInfo.InvariantCulture, out var created) && created < cutoff)
                    stale.Add(name);
            }
        }
        foreach (var name in stale) await ExecuteAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    }

    private static string ReadConnectionString()
    {
        var fromEnv = Environment.GetEnvironmentVariable(EnvName);
        if (!string.IsNullOrWhiteSpace(fromEnv)) return fromEnv;
        var file = Path.Combine(RepoRoot, ".local", "credentials.env");
        if (File.Exists(file))
        {
            foreach (var line in File.ReadLines(file))
            {
                if (!line.StartsWith(EnvName + "=", StringComparison.Ordinal)) continue;
                return line[(EnvName.Length + 1)..].Trim().Trim('\'');
            }
        }
        throw new InvalidOperationException($"No Postgres settings: neither {EnvName} nor {file} is set. {Hint}");
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GrmWorker.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"GrmWorker.sln not found above {AppContext.BaseDirectory}");
    }
}

/// <summary>One test database with its own pool; dropped (WITH FORCE) on dispose.</summary>
public sealed class TestDatabase(PostgresFixture fixture, string name, string connectionString) : IAsyncDisposable
{
    public string Name { get; } = name;

    public string ConnectionString { get; } = connectionString;

    public NpgsqlDataSource DataSource { get; } = StorageDataSource.Create(new StorageOptions { ConnectionString = connectionString });

    public MigrationRunner Runner(IReadOnlyList<Migration>? migrations = null) =>
        new(DataSource, migrations ?? Migration.Embedded(), TimeSpan.FromMinutes(1));

    public async Task<T?> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var command = DataSource.CreateCommand(sql);
        foreach (var p in parameters) command.Parameters.Add(new NpgsqlParameter { Value = p });
        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default : (T)value;
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        await fixture.ExecuteAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
    }
}
