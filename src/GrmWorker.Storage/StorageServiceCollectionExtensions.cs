using GrmWorker.Storage.Migrations;
using GrmWorker.Storage.Model;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GrmWorker.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="StorageOptions"/> from <paramref name="section"/> (its <see cref="StorageOptions.Problems"/>
    /// checked at start, as the worker checks its other settings) and registers the
    /// data source, <see cref="MigrationRunner"/>, <see cref="JobWriter"/>, <see cref="JobReader"/>, <see cref="RequestClaims"/> and a pooled
    /// <see cref="GrmDbContext"/> factory.
    /// </summary>
    public static IServiceCollection AddGrmStorage(this IServiceCollection services, IConfiguration section)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>());
        services.AddOptions<StorageOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton(sp => StorageDataSource.Create(sp.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.AddPooledDbContextFactory<GrmDbContext>((sp, db) => GrmDbContext.Configure(db, sp.GetRequiredService<NpgsqlDataSource>()));
        services.AddSingleton<MigrationRunner>();
        services.AddSingleton<JobWriter>();
        services.AddSingleton<JobReader>();
        services.AddSingleton<RequestClaims>();
        return services;
    }
}

/// <summary><see cref="StorageOptions.Problems"/> as the options validator: all of them, named.</summary>
internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options) =>
        StorageOptions.Problems(options).ToList() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}

/// <summary>Builds the one <see cref="NpgsqlDataSource"/> (connection pool) everything in Storage uses.</summary>
public static class StorageDataSource
{
    public static NpgsqlDataSource Create(StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString)
        {
            CommandTimeout = (int)Math.Ceiling(options.CommandTimeout.TotalSeconds),
            PersistSecurityInfo = false,
        };
        if (string.IsNullOrEmpty(builder.ApplicationName)) builder.ApplicationName = "grm";
        return new NpgsqlDataSourceBuilder(builder.ConnectionString).Build();
    }

    /// <summary>"host:port/database as user" for messages: everything but the password.</summary>
    public static string Describe(string connectionString)
    {
        try
        {
            var b = new NpgsqlConnectionStringBuilder(connectionString);
            return $"{b.Host}:{b.Port}/{b.Database} as {b.Username}";
        }
        catch (ArgumentException)
        {
            return "(unparsable connection string)";
        }
    }
}
