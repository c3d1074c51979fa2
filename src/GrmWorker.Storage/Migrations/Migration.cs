using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace GrmWorker.Storage.Migrations;

/// <summary>One <c>NNNN_name.sql</c> file. <see cref="Checksum"/> is the SHA-256 (hex) of its text with LF line ends.</summary>
public sealed partial record Migration(int Version, string FileName, string Sql)
{
    public string Checksum { get; } = ComputeChecksum(Sql);

    public static string ComputeChecksum(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var normalized = sql.Replace("\r\n", "\n", StringComparison.Ordinal);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalized)));
    }

    /// <summary>Parses a file name like <c>0001_initial.sql</c>; anything else is an error naming the file.</summary>
    public static Migration Create(string fileName, string sql)
    {
        var match = FileNamePattern().Match(fileName);
        if (!match.Success)
            throw new MigrationException($"migration file '{fileName}' is not named NNNN_name.sql (4 digits, lower-case name)");
        return new Migration(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), fileName, sql);
    }

    /// <summary>Orders by version; two files with one version is an error naming both.</summary>
    public static IReadOnlyList<Migration> Ordered(IEnumerable<Migration> migrations)
    {
        var list = migrations.OrderBy(m => m.Version).ToList();
        for (var i = 1; i < list.Count; i++)
        {
            if (list[i].Version == list[i - 1].Version)
                throw new MigrationException($"migrations '{list[i - 1].FileName}' and '{list[i].FileName}' share version {list[i].Version}");
        }
        return list;
    }

    /// <summary>The migrations compiled into this assembly from <c>migrations/*.sql</c>.</summary>
    public static IReadOnlyList<Migration> Embedded()
    {
        var assembly = typeof(Migration).Assembly;
        const string prefix = "GrmWorker.Storage.Migrations.";
        return Ordered(assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n => Create(n[prefix.Length..], ReadResource(assembly, n))));
    }

    /// <summary>The <c>*.sql</c> files of a directory (tests, or a deployment that ships the files).</summary>
    public static IReadOnlyList<Migration> FromDirectory(string directory) =>
        Ordered(Directory.EnumerateFiles(directory, "*.sql")
            .Select(path => Create(Path.GetFileName(path), File.ReadAllText(path, Encoding.UTF8))));

    private static string ReadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)
            ?? throw new MigrationException($"embedded migration '{name}' cannot be read");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"^(\d{4})_[a-z0-9_]+\.sql$", RegexOptions.CultureInvariant)]
    private static partial Regex FileNamePattern();
}

/// <summary>A migration set that cannot be applied: a bad file name, a changed applied file, a failing script.</summary>
public sealed class MigrationException : Exception
{
    public MigrationException(string message) : base(message) { }

    public MigrationException(string message, Exception innerException) : base(message, innerException) { }

    public MigrationException() { }
}

/// <summary>What one run did: files applied now, files found already applied, and versions the database has that this binary does not know.</summary>
public sealed record MigrationResult(IReadOnlyList<string> Applied, IReadOnlyList<string> AlreadyApplied, IReadOnlyList<string> Unknown);
