using System.Globalization;
using RabbitMQ.Client;

namespace GrmWorker.Worker.Tests;

/// <summary>
/// Connection settings of the local services (deploy/local/services-up.sh): the GRM_* environment variables, else
/// the .local/credentials.env file the script writes. Missing settings fail the tests with a message naming the script.
/// </summary>
internal static class ServiceSettings
{
    public const string Hint = "Start them with deploy/local/services-up.sh (deploy/local/test.sh does this before the tests).";

    /// <summary>The tests' Postgres role (CREATEDB, for the database each fixture makes); the worker's role has no CREATEDB.</summary>
    public const string TestPostgres = "GRM_LOCAL_TEST_POSTGRES";

    public static string RepoRoot { get; } = FindRepoRoot();

    private static readonly Lazy<IReadOnlyDictionary<string, string>> FromFile = new(ReadFile);

    public static string Get(string name)
    {
        var value = Environment.GetEnvironmentVariable(name);
        if (!string.IsNullOrWhiteSpace(value)) return value;
        if (FromFile.Value.TryGetValue(name, out var fileValue)) return fileValue;
        throw new InvalidOperationException(
            $"No setting {name}: neither the environment nor {Path.Combine(RepoRoot, ".local", "credentials.env")} has it. {Hint}");
    }

    /// <summary>The local broker's connection as configuration keys (RabbitMq:Host, Port, VirtualHost, Username, Password).</summary>
    public static Dictionary<string, string?> Broker() => new()
    {
        ["RabbitMq:Host"] = Get("GRM_RABBITMQ__HOST"),
        ["RabbitMq:Port"] = Get("GRM_RABBITMQ__PORT"),
        ["RabbitMq:VirtualHost"] = Get("GRM_RABBITMQ__VIRTUALHOST"),
        ["RabbitMq:Username"] = Get("GRM_RABBITMQ__USERNAME"),
        ["RabbitMq:Password"] = Get("GRM_RABBITMQ__PASSWORD"),
    };

    private static Dictionary<string, string> ReadFile()
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var file = Path.Combine(RepoRoot, ".local", "credentials.env");
        if (!File.Exists(file)) return values;
        foreach (var line in File.ReadLines(file))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || line.StartsWith('#')) continue;
            values[line[..eq].Trim()] = line[(eq + 1)..].Trim().Trim('\'', '"');
        }
        return values;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GrmWorker.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"GrmWorker.sln not found above {AppContext.BaseDirectory}");
    }

    /// <summary>A RabbitMQ connection factory for the local broker, from the GRM_RABBITMQ__* settings.</summary>
    public static ConnectionFactory RabbitMqFactory() => new()
    {
        HostName = Get("GRM_RABBITMQ__HOST"),
        Port = int.Parse(Get("GRM_RABBITMQ__PORT"), CultureInfo.InvariantCulture),
        VirtualHost = Get("GRM_RABBITMQ__VIRTUALHOST"),
        UserName = Get("GRM_RABBITMQ__USERNAME"),
        Password = Get("GRM_RABBITMQ__PASSWORD"),
    };
}
