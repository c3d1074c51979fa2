namespace GrmWorker.Storage;

/// <summary>Postgres settings: configuration section <c>Postgres</c> (env <c>GRM_POSTGRES__CONNECTIONSTRING</c>, ...).</summary>
public sealed class StorageOptions
{
    public const string Section = "Postgres";

    /// <summary>Npgsql connection string. Never logged: it carries the password.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>Timeout of one SQL command (a COPY of one job included).</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Timeout of one migration run, lock wait included.</summary>
    public TimeSpan MigrationTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Every bad setting, each message naming it; checked when the host starts (AddGrmStorage).</summary>
    public static IEnumerable<string> Problems(StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ConnectionString)) yield return $"{Section}:ConnectionString is required (env GRM_POSTGRES__CONNECTIONSTRING)";
        if (options.CommandTimeout <= TimeSpan.Zero) yield return $"{Section}:CommandTimeout must be positive";
        if (options.MigrationTimeout <= TimeSpan.Zero) yield return $"{Section}:MigrationTimeout must be positive";
    }
}
