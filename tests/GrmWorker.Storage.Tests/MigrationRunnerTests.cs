using GrmWorker.Storage.Migrations;

namespace GrmWorker.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class MigrationRunnerTests(PostgresFixture fixture)
{
    private static readonly string[] Tables =
        ["critiques", "grm_samples", "job_responses", "principles", "request_claims", "rewards", "schema_migrations", "scores", "scoring_jobs"];

    [Fact]
    public async Task Migrations_apply_once_and_are_recorded_with_checksums()
    {
        await using var db = await fixture.CreateDatabaseAsync();

        var result = await db.Runner().RunAsync(CancellationToken.None);

        var files = Migration.FromDirectory(Path.Combine(PostgresFixture.RepoRoot, "migrations"));
        Assert.Equal(files.Select(f => f.FileName), result.Applied);
        Assert.Empty(result.AlreadyApplied);
        Assert.Equal(files.Count, await db.ScalarAsync<long>("SELECT count(*) FROM schema_migrations"));
        Assert.Equal(files[0].Checksum, await db.ScalarAsync<string>("SELECT checksum FROM schema_migrations WHERE version = 1"));
        Assert.Equal("0001_initial.sql", await db.ScalarAsync<string>("SELECT file_name FROM schema_migrations WHERE version = 1"));
        Assert.Matches("^[0-9a-f]{64}$", files[0].Checksum);
        var tables = await db.ScalarAsync<string[]>(
            "SELECT array_agg(table_name::text ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'public'");
        Assert.Equal(Tables, tables);
    }

    [Fact]
    public async Task A_second_run_applies_nothing()
    {
        await using var db = await fixture.CreateDatabaseAsync();
        var first = await db.Runner().RunAsync(CancellationToken.None);

        var second = await db.Runner().RunAsync(CancellationToken.None);

        Assert.Empty(second.Applied);
        Assert.Equal(first.Applied, second.AlreadyApplied);
        Assert.Empty(second.Unknown);
    }

    [Fact]
    public async Task A_changed_applied_migration_is_rejected_naming_the_file()
    {
        await using var db = await fixture.CreateDatabaseAsync();
        await db.Runner().RunAsync(CancellationToken.None);
        var original = Migration.Embedded()[0];
        var changed = Migration.Create(original.FileName, original.Sql + "\nCREATE TABLE sneaky (id int);\n");

        var error = await Assert.ThrowsAsync<MigrationException>(() => db.Runner([changed]).RunAsync(CancellationToken.None));

        Assert.Contains("0001_initial.sql", error.Message);
        Assert.Contains("changed", error.Message);
        Assert.Null(await db.ScalarAsync<string>("SELECT to_regclass('sneaky')::text"));
    }

    [Fact]
    public void Line_endings_do_not_change_the_checksum() =>
        Assert.Equal(Migration.ComputeChecksum("CREATE TABLE a (id int);\nSELECT 1;\n"),
            Migration.ComputeChecksum("CREATE TABLE a (id int);\r\nSELECT 1;\r\n"));

    [Fact]
    public async Task Concurrent_runners_apply_each_migration_once()
    {
        await using var db = await fixture.CreateDatabaseAsync();
        // A slow second migration widens the window in which unserialised runners would collide.
        IReadOnlyList<Migration> migrations = [.. Migration.Embedded(),
            Migration.Create("0999_probe.sql", "CREATE TABLE probe (id int); SELECT pg_sleep(0.3);")];

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ =>
            Task.Run(() => db.Runner(migrations).RunAsync(CancellationToken.None))));

        Assert.Equal(migrations.Count, results.Sum(r => r.Applied.Count));
        Assert.Single(results, r => r.Applied.Count == migrations.Count);
        Assert.All(results.Where(r => r.Applied.Count == 0), r => Assert.Equal(migrations.Count, r.AlreadyApplied.Count));
        Assert.Equal(migrations.Count, await db.ScalarAsync<long>("SELECT count(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task A_failing_migration_rolls_back_the_whole_run_and_names_the_file()
    {
        await using var db = await fixture.CreateDatabaseAsync();
        IReadOnlyList<Migration> migrations = [.. Migration.Embedded(),
            Migration.Create("0099_broken.sql", "CREATE TABLE half (id int); SELECT * FROM no_such_table;")];

        var error = await Assert.ThrowsAsync<MigrationException>(() => db.Runner(migrations).RunAsync(CancellationToken.None));

        Assert.Contains("0099_broken.sql", error.Message);
        Assert.Contains("no_such_table", error.Message);
        Assert.Null(await db.ScalarAsync<string>("SELECT to_regclass('half')::text"));
        Assert.Null(await db.ScalarAsync<string>("SELECT to_regclass('scoring_jobs')::text"));
        Assert.Null(await db.ScalarAsync<string>("SELECT to_regclass('schema_migrations')::text"));
    }

    [Fact]
    public async Task Versions_the_binary_does_not_know_are_reported_not_applied()
    {
        await using var db = await fixture.CreateDatabaseAsync();
        await db.Runner([.. Migration.Embedded(), Migration.Create("0500_newer.sql", "SELECT 1;")]).RunAsync(CancellationToken.None);

        var result = await db.Runner().RunAsync(CancellationToken.None);

        Assert.Empty(result.Applied);
        Assert.Equal(["0500_newer.sql"], result.Unknown);
    }

    [Fact]
    public void Embedded_migrations_are_the_files_in_the_migrations_directory()
    {
        var files = Migration.FromDirectory(Path.Combine(PostgresFixture.RepoRoot, "migrations"));
        var embedded = Migration.Embedded();

        Assert.NotEmpty(embedded);
        Assert.Equal(files.Select(f => (f.FileName, f.Checksum)), embedded.Select(e => (e.FileName, e.Checksum)));
    }

    [Theory]
    [InlineData("1_initial.sql")]
    [InlineData("0001-initial.sql")]
    [InlineData("0001_Initial.sql")]
    [InlineData("0001_initial.txt")]
    public void Badly_named_migration_files_are_refused(string fileName)
    {
        var error = Assert.Throws<MigrationException>(() => Migration.Create(fileName, "SELECT 1;"));
        Assert.Contains(fileName, error.Message);
    }

    [Fact]
    public void Two_files_with_one_version_are_refused()
    {
        var error = Assert.Throws<MigrationException>(() =>
            Migration.Ordered([Migration.Create("0001_a.sql", ""), Migration.Create("0001_b.sql", "")]));
        Assert.Contains("0001_a.sql", error.Message);
        Assert.Contains("0001_b.sql", error.Message);
    }

    [Fact]
    public async Task The_local_role_is_not_a_superuser_and_owns_its_database()
    {
        await using var db = await fixture.CreateDatabaseAsync();

        Assert.False(await db.ScalarAsync<bool>("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"));
        Assert.False(await db.ScalarAsync<bool>("SELECT rolcreaterole FROM pg_roles WHERE rolname = current_user"));
        Assert.True(await db.ScalarAsync<bool>(
            "SELECT pg_get_userbyid(datdba) = current_user FROM pg_database WHERE datname = current_database()"));
    }

    [Fact]
    public void Connection_descriptions_never_carry_the_password()
    {
        var described = StorageDataSource.Describe("Host=db.example;Port=5433;Database=grm;Username=grm;Password=hunter2secret");

        Assert.Equal("db.example:5433/grm as grm", described);
        Assert.DoesNotContain("hunter2secret", described);
    }
}
