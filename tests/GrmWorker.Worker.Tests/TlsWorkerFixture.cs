using System.Globalization;
using System.Security.Cryptography;
using Npgsql;

namespace GrmWorker.Worker.Tests;

[CollectionDefinition(Name)]
public sealed class TlsWorkerCollection : ICollectionFixture<TlsWorkerFixture>
{
    public const string Name = "worker-tls";
}

/// <summary>
/// The in-process worker of <see cref="WorkerFixture"/> talking TLS to both services: RabbitMQ on its TLS port and
/// Postgres with <c>SSL Mode=VerifyFull</c>, each trusting the local CA that deploy/local/services-up.sh makes
/// (GRM_LOCAL_TLS_CA, GRM_LOCAL_AMQPS_PORT). Its Postgres sessions carry <see cref="ApplicationName"/> so a test can
/// find them in pg_stat_ssl. The test client itself publishes and reads over plain AMQP.
/// </summary>
public sealed class TlsWorkerFixture : WorkerFixture
{
    public string ApplicationName { get; } = $"grm-tls-test-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    public static string CaFile => ServiceSettings.Get("GRM_LOCAL_TLS_CA");

    public static int TlsPort => int.Parse(ServiceSettings.Get("GRM_LOCAL_AMQPS_PORT"), CultureInfo.InvariantCulture);

    protected override void ConfigureSettings(IDictionary<string, string?> settings)
    {
        settings["Postgres:ConnectionString"] = new NpgsqlConnectionStringBuilder(settings["Postgres:ConnectionString"])
        {
            SslMode = SslMode.VerifyFull,
            RootCertificate = CaFile,
            ApplicationName = ApplicationName,
        }.ConnectionString;
        settings["RabbitMq:UseTls"] = "true";
        settings["RabbitMq:Port"] = TlsPort.ToString(CultureInfo.InvariantCulture);
        settings["RabbitMq:TlsCaFile"] = CaFile;
    }
}
