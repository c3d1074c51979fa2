using GrmWorker.Storage;
using GrmWorker.Worker.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace GrmWorker.Worker.Runs;

/// <summary>
/// Settings and services of a one-shot command, from the same sources and <c>Add*</c> registrations as `grm serve`
/// (appsettings.json, GRM_* variables, then the environment's overrides), without the host: nothing starts in the
/// background, and options are validated when first used. Logs go to stderr, warnings and up, so stdout stays the output.
/// </summary>
internal static class RunServices
{
    public const string PostgresSetting = $"{StorageOptions.Section}:ConnectionString";
    public const string PostgresEnv = "GRM_POSTGRES__CONNECTIONSTRING";

    public static IConfiguration Configuration(RunEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddEnvironmentVariables(WorkerHost.EnvironmentPrefix)
            .AddInMemoryCollection(environment.Settings)
            .Build();
    }

    /// <summary>A provider with logging, the clock, metrics and what <paramref name="register"/> adds, then the environment's overrides.</summary>
    public static ServiceProvider Build(RunEnvironment environment, IConfiguration configuration, Action<IServiceCollection> register)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(register);
        var services = new ServiceCollection();
        services.AddSingleton(configuration);
        services.AddLogging(logging => logging
            .SetMinimumLevel(LogLevel.Warning)
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<WorkerMetrics>();
        register(services);
        environment.ConfigureServices?.Invoke(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
    }

    /// <summary>Storage only (jobs, replay): the data source, reader and writer of <c>AddGrmStorage</c>.</summary>
    public static ServiceProvider Storage(RunEnvironment environment, IConfiguration configuration, string? withoutStorage = null)
    {
        RequirePostgres(configuration, withoutStorage);
        return Build(environment, configuration, s => s.AddGrmStorage(configuration.GetSection(StorageOptions.Section)));
    }

    /// <summary>Fails with exit code 2 naming the setting when no connection string is configured.</summary>
    public static void RequirePostgres(IConfiguration configuration, string? withoutStorage = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (string.IsNullOrWhiteSpace(configuration[PostgresSetting]))
        {
            throw new RunException(ExitCodes.BadInput,
                $"no database configured: set {PostgresEnv} (setting {PostgresSetting}; `source deploy/local/env.sh` exports it for the local services)" +
                (withoutStorage is null ? "" : $", or pass {withoutStorage}"));
        }
    }

    /// <summary>"host:port/database as user" of the configured database, for messages (never the password).</summary>
    public static string DescribePostgres(IConfiguration configuration) =>
        StorageDataSource.Describe(configuration[PostgresSetting] ?? "");
}
