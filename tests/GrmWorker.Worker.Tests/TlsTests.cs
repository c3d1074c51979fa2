using System.Security.Authentication;
using GrmWorker.Worker.Hosting;
using GrmWorker.Worker.Messaging;
using Npgsql;
using RabbitMQ.Client.Exceptions;

namespace GrmWorker.Worker.Tests;

/// <summary>TLS to RabbitMQ and Postgres, against the local services' TLS listeners and their private CA.</summary>
[Collection(TlsWorkerCollection.Name)]
public sealed class TlsTests(TlsWorkerFixture worker)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_worker_on_tls_to_both_services_scores_a_job_and_its_database_sessions_are_encrypted()
    {
        var route = WorkerFixture.NewRoute();
        var results = await worker.Amqp.SubscribeAsync(WorkerFixture.ResultExchange, route);
        var requestId = WorkerFixture.NewRequestId();
        await worker.Amqp.PublishAsync(worker.ScoreQueue, new { requestId, route, query = "2+2?", responses = new[] { "4", "5" } });

        // Consumed over the broker's TLS port (MassTransit), stored over TLS, published over TLS (ResultPublisher).
        var delivered = Assert.Single(await worker.Amqp.ReadAsync(results, 1, Wait));
        Assert.Equal(requestId, delivered.Json.GetProperty("requestId").GetString());
        Assert.Equal(1L, await worker.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = $1", requestId));
        Assert.Equal(WorkerFixture.KMax, await worker.ScalarAsync<long>(
            "SELECT count(*) FROM grm_samples s JOIN scoring_jobs j ON j.id = s.job_id WHERE j.request_id = $1", requestId));

        // The worker's pooled sessions are still open: every one of them is encrypted.
        var sessions = await worker.ScalarAsync<long>(
            "SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.application_name = $1", worker.ApplicationName);
        var encrypted = await worker.ScalarAsync<long>(
            "SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.application_name = $1 AND s.ssl", worker.ApplicationName);
        Assert.True(sessions >= 1, $"no Postgres session with application_name {worker.ApplicationName}");
        Assert.Equal(sessions, encrypted);
    }

    [Fact]
    public async Task The_broker_tls_port_is_refused_without_the_private_ca()
    {
        var options = Options(caFile: "");

        var error = await Assert.ThrowsAsync<BrokerUnreachableException>(() => RabbitMqConnections.Factory(options, "grm-tls-test").CreateConnectionAsync());

        Assert.IsType<AuthenticationException>(Find<AuthenticationException>(error));
    }

    [Fact]
    public async Task The_broker_tls_port_is_refused_under_a_name_its_certificate_does_not_carry()
    {
        var options = Options(caFile: TlsWorkerFixture.CaFile);
        options.TlsServerName = "not-the-broker.example";

        var error = await Assert.ThrowsAsync<BrokerUnreachableException>(() => RabbitMqConnections.Factory(options, "grm-tls-test").CreateConnectionAsync());

        Assert.IsType<AuthenticationException>(Find<AuthenticationException>(error));
    }

    [Fact]
    public async Task Postgres_verify_full_fails_without_the_private_ca_and_works_with_it()
    {
        var plain = ServiceSettings.Get("GRM_POSTGRES__CONNECTIONSTRING");
        var withoutCa = new NpgsqlConnectionStringBuilder(plain) { SslMode = SslMode.VerifyFull, Pooling = false }.ConnectionString;
        var withCa = new NpgsqlConnectionStringBuilder(withoutCa) { RootCertificate = TlsWorkerFixture.CaFile }.ConnectionString;

        await using (var refused = new NpgsqlConnection(withoutCa))
        {
            var error = await Assert.ThrowsAnyAsync<Exception>(() => refused.OpenAsync());
            Assert.IsType<AuthenticationException>(Find<AuthenticationException>(error));
        }

        await using var connection = new NpgsqlConnection(withCa);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", connection);
        Assert.Equal(true, await command.ExecuteScalarAsync());
    }

    private static RabbitMqOptions Options(string caFile) => new()
    {
        Host = ServiceSettings.Get("GRM_RABBITMQ__HOST"),
        Port = TlsWorkerFixture.TlsPort,
        VirtualHost = ServiceSettings.Get("GRM_RABBITMQ__VIRTUALHOST"),
        Username = ServiceSettings.Get("GRM_RABBITMQ__USERNAME"),
        Password = ServiceSettings.Get("GRM_RABBITMQ__PASSWORD"),
        UseTls = true,
        TlsCaFile = caFile,
    };

    /// <summary>The first <typeparamref name="T"/> in the chain of inner exceptions, else <paramref name="error"/> (so the assertion shows it).</summary>
    private static Exception Find<T>(Exception error) where T : Exception
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
            if (e is T) return e;
        return error;
    }
}
