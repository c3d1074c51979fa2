using GrmWorker.Storage.Model;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GrmWorker.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class StorageRegistrationTests(PostgresFixture fixture)
{
    [Fact]
    public async Task AddGrmStorage_binds_the_Postgres_section_and_wires_writer_reader_and_context()
    {
        var db = await fixture.SharedMigratedDatabaseAsync();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Postgres:ConnectionString"] = db.ConnectionString,
            ["Postgres:CommandTimeout"] = "00:00:07",
        }).Build();
        await using var services = new ServiceCollection().AddGrmStorage(configuration.GetSection(StorageOptions.Section)).BuildServiceProvider();

        Assert.Equal(TimeSpan.FromSeconds(7), services.GetRequiredService<IOptions<StorageOptions>>().Value.CommandTimeout);
        Assert.Equal(7, new NpgsqlConnectionStringBuilder(services.GetRequiredService<NpgsqlDataSource>().ConnectionString).CommandTimeout);
        var job = TestJobs.Scored(TestJobs.NewRequestId("di"));
        var written = await services.GetRequiredService<JobWriter>().WriteAsync(job, CancellationToken.None);
        Assert.NotNull(await services.GetRequiredService<JobReader>().TryGetStoredResultAsync(job.RequestId, CancellationToken.None));
        await using var context = await services.GetRequiredService<IDbContextFactory<GrmDbContext>>().CreateDbContextAsync();
        Assert.Equal(4, await context.Samples.CountAsync(s => s.JobId == written.JobId));
    }

    [Fact]
    public async Task A_missing_connection_string_fails_validation_naming_the_setting()
    {
        var configuration = new ConfigurationBuilder().Build();
        await using var services = new ServiceCollection().AddGrmStorage(configuration.GetSection(StorageOptions.Section)).BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<NpgsqlDataSource>());

        Assert.Contains("GRM_POSTGRES__CONNECTIONSTRING", error.Message);
    }
}
