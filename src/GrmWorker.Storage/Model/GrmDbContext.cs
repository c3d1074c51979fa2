using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace GrmWorker.Storage.Model;

/// <summary>
/// Read model (replay, jobs show/list). No EnsureCreated and no EF migrations: the schema comes only from
/// migrations/*.sql through MigrationRunner. Queries are no-tracking by default.
/// </summary>
public sealed class GrmDbContext(DbContextOptions<GrmDbContext> options) : DbContext(options)
{
    public DbSet<JobRow> Jobs => Set<JobRow>();
    public DbSet<ResponseRow> Responses => Set<ResponseRow>();
    public DbSet<SampleRow> Samples => Set<SampleRow>();
    public DbSet<PrincipleRow> Principles => Set<PrincipleRow>();
    public DbSet<CritiqueRow> Critiques => Set<CritiqueRow>();
    public DbSet<ScoreRow> Scores => Set<ScoreRow>();
    public DbSet<RewardRow> Rewards => Set<RewardRow>();

    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder builder, NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .UseNpgsql(dataSource)
            .UseQueryTrackingBehavior(QueryTrackingBehavior.NoTracking)
            // One data source per database (tests create several) must not turn into an error.
            .ConfigureWarnings(w => w.Ignore(CoreEventId.ManyServiceProvidersCreatedWarning));
    }

    public static DbContextOptions<GrmDbContext> CreateOptions(NpgsqlDataSource dataSource) =>
        (DbContextOptions<GrmDbContext>)Configure(new DbContextOptionsBuilder<GrmDbContext>(), dataSource).Options;

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<JobRow>(e =>
        {
            e.ToTable("scoring_jobs");
            e.HasKey(j => j.Id);
            e.Property(j => j.Id).UseIdentityAlwaysColumn();
            e.HasIndex(j => j.RequestId).IsUnique();
            e.Property(j => j.Request).HasColumnType("jsonb");
            e.Property(j => j.Result).HasColumnType("jsonb");
            e.HasMany(j => j.Responses).WithOne().HasForeignKey(r => r.JobId);
            e.HasMany(j => j.Samples).WithOne().HasForeignKey(s => s.JobId);
            e.HasMany(j => j.Rewards).WithOne().HasForeignKey(r => r.JobId);
        });
        modelBuilder.Entity<ResponseRow>(e =>
        {
            e.ToTable("job_responses");
            e.HasKey(r => new { r.JobId, r.ResponseIndex });
        });
        modelBuilder.Entity<SampleRow>(e =>
        {
            e.ToTable("grm_samples");
            e.HasKey(s => s.Id);
            e.Property(s => s.Id).UseIdentityAlwaysColumn();
            e.HasAlternateKey(s => new { s.JobId, s.SampleIndex });
            e.HasMany(s => s.Principles).WithOne().HasForeignKey(p => new { p.JobId, p.SampleIndex }).HasPrincipalKey(s => new { s.JobId, s.SampleIndex });
            e.HasMany(s => s.Critiques).WithOne().HasForeignKey(c => new { c.JobId, c.SampleIndex }).HasPrincipalKey(s => new { s.JobId, s.SampleIndex });
            e.HasMany(s => s.Scores).WithOne().HasForeignKey(c => new { c.JobId, c.SampleIndex }).HasPrincipalKey(s => new { s.JobId, s.SampleIndex });
        });
        modelBuilder.Entity<PrincipleRow>(e =>
        {
            e.ToTable("principles");
            e.HasKey(p => new { p.JobId, p.SampleIndex, p.Ordinal });
        });
        modelBuilder.Entity<CritiqueRow>(e =>
        {
            e.ToTable("critiques");
            e.HasKey(c => new { c.JobId, c.SampleIndex, c.ResponseIndex });
        });
        modelBuilder.Entity<ScoreRow>(e =>
        {
            e.ToTable("scores");
            e.HasKey(s => new { s.JobId, s.SampleIndex, s.ResponseIndex });
        });
        modelBuilder.Entity<RewardRow>(e =>
        {
            e.ToTable("rewards");
            e.HasKey(r => r.Id);
            e.Property(r => r.Id).UseIdentityAlwaysColumn();
            e.HasIndex(r => new { r.JobId, r.Strategy, r.ResponseIndex }).IsUnique();
        });

        foreach (var entity in modelBuilder.Model.GetEntityTypes())
        {
            foreach (var property in entity.GetProperties())
                property.SetColumnName(ToSnakeCase(property.Name));
        }
    }

    internal static string ToSnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(name[i]));
        }
        return sb.ToString();
    }
}
