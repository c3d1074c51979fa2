using System.Net.Sockets;
using GrmWorker.Storage.Migrations;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace GrmWorker.Worker.Hosting;

/// <summary>
/// Applies pending migrations before the bus starts (it is registered first, and hosted services start in order).
/// A database that is not reachable yet is retried with backoff and jitter until the host stops; a migration
/// error (a changed applied file, bad SQL) stops the start at once.
/// </summary>
public sealed class MigrationHostedService(MigrationRunner runner, WorkerReadiness readiness, ILogger<MigrationHostedService> logger) : IHostedService
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(30);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(500);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var result = await runner.RunAsync(cancellationToken);
                WorkerLog.Migrated(logger, result.Applied.Count, result.AlreadyApplied.Count);
                readiness.MarkMigrated();
                return;
            }
            catch (Exception ex) when (IsTransient(ex) && !cancellationToken.IsCancellationRequested)
            {
                var jittered = delay * (0.5 + Random.Shared.NextDouble());
                WorkerLog.MigrationRetry(logger, ex, attempt, jittered);
                await Task.Delay(jittered, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, delay.Ticks * 2));
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    internal static bool IsTransient(Exception ex) => ex switch
    {
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is SocketException or IOException or TimeoutException,
        TimeoutException or SocketException => true,
        _ => false,
    };
}
