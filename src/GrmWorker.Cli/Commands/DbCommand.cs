using System.Collections;
using System.CommandLine;
using GrmWorker.Storage;
using GrmWorker.Storage.Migrations;
using Npgsql;

namespace GrmWorker.Cli.Commands;

/// <summary>`grm db migrate`: applies the embedded migrations/*.sql to the configured database.</summary>
internal static class DbCommand
{
    private const string EnvName = "GRM_POSTGRES__CONNECTIONSTRING";

    public static Command Build()
    {
        var connection = new Option<string?>("--connection")
        {
            Description = $"Npgsql connection string (default: env {EnvName}, i.e. setting Postgres:ConnectionString).",
        };
        var timeout = new Option<int>("--timeout")
        {
            Description = "Seconds the whole run may take, waiting for another runner's lock included.",
            DefaultValueFactory = _ => 300,
        };
        var migrate = new Command("migrate", "Apply pending migrations (each once, under an advisory lock, checksums verified).");
        migrate.Options.Add(connection);
        migrate.Options.Add(timeout);
        migrate.SetAction((ParseResult pr, CancellationToken ct) =>
            MigrateAsync(pr.GetValue(connection), TimeSpan.FromSeconds(pr.GetValue(timeout)), ct));

        var db = new Command("db", "Database commands.");
        db.Subcommands.Add(migrate);
        return db;
    }

    private static async Task<int> MigrateAsync(string? connectionOption, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var (connectionString, source) = connectionOption is { Length: > 0 }
            ? (connectionOption, "--connection")
            : (FromEnvironment(), EnvName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            await Console.Error.WriteLineAsync(
                $"grm db migrate: no database configured: pass --connection or set {EnvName} (deploy/local/env.sh exports it for the local services).");
            return 2;
        }

        NpgsqlDataSource dataSource;
        try
        {
            dataSource = StorageDataSource.Create(new StorageOptions { ConnectionString = connectionString, MigrationTimeout = timeout });
        }
        catch (ArgumentException ex)
        {
            // The message may quote a value, so only the keyword is shown.
            await Console.Error.WriteLineAsync($"grm db migrate: {source} is not a valid connection string (bad keyword or value: {ex.ParamName ?? "?"}).");
            return 2;
        }

        var where = StorageDataSource.Describe(connectionString);
        await using (dataSource)
        {
            try
            {
                var runner = new MigrationRunner(dataSource, Migration.Embedded(), timeout);
                var result = await runner.RunAsync(cancellationToken);
                foreach (var file in result.Applied) Console.WriteLine($"applied  {file}");
                foreach (var file in result.Unknown) Console.WriteLine($"warning  {file} is applied in the database but unknown to this build");
                Console.WriteLine(result.Applied.Count == 0
                    ? $"{where}: up to date ({result.AlreadyApplied.Count} migrations applied earlier)"
                    : $"{where}: {result.Applied.Count} applied, {result.AlreadyApplied.Count} applied earlier");
                return 0;
            }
            catch (MigrationException ex)
            {
                await Console.Error.WriteLineAsync($"grm db migrate: {where}: {ex.Message}");
                return 1;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync("grm db migrate: cancelled; nothing was committed");
                return 130;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                await Console.Error.WriteLineAsync(
                    $"grm db migrate: cannot use the database {where} (from {source}): {ex.Message}" +
                    (ex.InnerException is { } inner ? $" ({inner.Message})" : ""));
                return 1;
            }
        }
    }

    // Environment variable names are case-sensitive on Linux; configuration keys are not.
    private static string? FromEnvironment()
    {
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            if (string.Equals((string)e.Key, EnvName, StringComparison.OrdinalIgnoreCase)) return e.Value as string;
        }
        return null;
    }
}
