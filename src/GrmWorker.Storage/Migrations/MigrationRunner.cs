using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GrmWorker.Storage.Migrations;

/// <summary>
/// Applies <c>migrations/NNNN_name.sql</c> in order, each once. One run is one transaction holding
/// <c>pg_advisory_xact_lock</c>, so concurrent runners (many workers starting at once) serialise and
/// the later ones find everything applied. Each applied file is recorded in <c>schema_migrations</c>
/// with its SHA-256; a file that changed after it was applied stops the run with an error naming it.
/// </summary>
public sealed class MigrationRunner
{
    // Arbitrary constant: "grm" + "migr" as bytes. Advisory locks are per database.
    internal const long LockKey = 0x67726d_6d696772;

    private readonly NpgsqlDataSource _dataSource;
    private readonly IReadOnlyList<Migration> _migrations;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;

    public MigrationRunner(NpgsqlDataSource dataSource, IOptions<StorageOptions> options, ILogger<MigrationRunner>? logger = null)
        : this(dataSource, Migration.Embedded(), options?.Value.MigrationTimeout ?? TimeSpan.FromMinutes(5), logger)
    {
    }

    public MigrationRunner(NpgsqlDataSource dataSource, IReadOnlyList<Migration> migrations, TimeSpan timeout, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(migrations);
        _dataSource = dataSource;
        _migrations = Migration.Ordered(migrations);
        _timeout = timeout;
        _logger = logger ?? NullLogger.Instance;
    }

    public IReadOnlyList<Migration> Migrations => _migrations;

    public async Task<MigrationResult> RunAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var timeoutSeconds = (int)Math.Ceiling(_timeout.TotalSeconds);

        await ExecuteAsync(connection, tx, "SELECT pg_advisory_xact_lock($1)", timeoutSeconds, cancellationToken, LockKey);
        await ExecuteAsync(connection, tx, """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                file_name  text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, timeoutSeconds, cancellationToken);

        var applied = new Dictionary<int, (string FileName, string Checksum)>();
        await using (var read = new NpgsqlCommand("SELECT version, file_name, checksum FROM schema_migrations", connection, tx))
        {
            read.CommandTimeout = timeoutSeconds;
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                applied[reader.GetInt32(0)] = (reader.GetString(1), reader.GetString(2));
        }

        var done = new List<string>();
        var already = new List<string>();
        foreach (var migration in _migrations)
        {
            if (applied.TryGetValue(migration.Version, out var record))
            {
                if (record.Checksum != migration.Checksum)
                {
                    throw new MigrationException(
                        $"migration '{migration.FileName}' changed after it was applied (as '{record.FileName}', checksum {record.Checksum[..12]}..., " +
                        $"now {migration.Checksum[..12]}...); restore it and add a new migration instead");
                }
                already.Add(migration.FileName);
                continue;
            }

            StorageLog.ApplyingMigration(_logger, migration.FileName);
            try
            {
                await ExecuteAsync(connection, tx, migration.Sql, timeoutSeconds, cancellationToken);
            }
            catch (PostgresException ex)
            {
                throw new MigrationException($"migration '{migration.FileName}' failed: {ex.MessageText} (SQLSTATE {ex.SqlState})", ex);
            }
            await ExecuteAsync(connection, tx,
                "INSERT INTO schema_migrations (version, file_name, checksum) VALUES ($1, $2, $3)",
                timeoutSeconds, cancellationToken, migration.Version, migration.FileName, migration.Checksum);
            done.Add(migration.FileName);
        }

        await tx.CommitAsync(cancellationToken);
        var known = _migrations.Select(m => m.Version).ToHashSet();
        var unknown = applied.Where(a => !known.Contains(a.Key)).OrderBy(a => a.Key).Select(a => a.Value.FileName).ToList();
        StorageLog.MigrationsDone(_logger, done.Count, already.Count);
        return new MigrationResult(done, already, unknown);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, int timeoutSeconds,
        CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, tx) { CommandTimeout = timeoutSeconds };
        foreach (var p in parameters) command.Parameters.Add(new NpgsqlParameter { Value = p });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
