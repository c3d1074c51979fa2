using Npgsql;

namespace GrmWorker.Worker.Tests;

/// <summary>The database each fixture creates for itself and drops at the end (through the tests' admin role), and reading it.</summary>
internal static class TestDatabases
{
    public static Task CreateAsync(string adminConnectionString, string name) =>
        ExecuteAdminAsync(adminConnectionString, $"CREATE DATABASE {name}");

    public static Task DropAsync(string adminConnectionString, string name) =>
        ExecuteAdminAsync(adminConnectionString, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");

    /// <summary>The first column of the first row (default when none or NULL), parameters as $1, $2, ...</summary>
    public static async Task<T?> ScalarAsync<T>(this NpgsqlDataSource database, string sql, params object[] parameters)
    {
        await using var command = database.CreateCommand(sql);
        foreach (var p in parameters) command.Parameters.Add(new NpgsqlParameter { Value = p });
        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default : (T)value;
    }

    private static async Task ExecuteAdminAsync(string adminConnectionString, string sql)
    {
        try
        {
            await using var connection = new NpgsqlConnection(adminConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            throw new InvalidOperationException($"Postgres is not reachable or refused '{sql}': {ex.Message}. {ServiceSettings.Hint}", ex);
        }
    }
}
