using GrmWorker.Inference;
using GrmWorker.Inference.Runtime;
using GrmWorker.Inference.Tokenization;
using GrmWorker.Worker.Runs;
using Microsoft.Extensions.Options;
using Npgsql;
using RabbitMQ.Client.Exceptions;

namespace GrmWorker.Cli;

/// <summary>
/// The one place a command's failure becomes a message on stderr and an exit code (<see cref="ExitCodes"/>): the
/// command body throws, this catches what it knows. Messages name the setting, option or file at fault.
/// </summary>
internal sealed class CliRunner(string command, RunEnvironment environment)
{
    /// <summary>The database as messages name it ("host:port/db as user"), set once the settings are read.</summary>
    public string? Postgres { get; set; }

    /// <summary>Said after "Postgres is unreachable", e.g. "pass --no-store to score without storing".</summary>
    public string? PostgresAlternative { get; set; }

    public async Task<int> RunAsync(Func<Task<int>> body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        try
        {
            return await body();
        }
        catch (RunException ex)
        {
            return Fail(ex.ExitCode, ex.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Fail(ExitCodes.Cancelled, "cancelled; what was committed before stays committed");
        }
        catch (OptionsValidationException ex)
        {
            return Fail(ExitCodes.BadInput, $"invalid settings: {string.Join("; ", ex.Failures)}");
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return Fail(ExitCodes.Failure, $"the database {Where()} has no GrmWorker schema ({ex.MessageText}); run `grm db migrate` first");
        }
        catch (NpgsqlException ex) when (IsUnavailable(ex))
        {
            var alternative = PostgresAlternative is null ? "" : $"; {PostgresAlternative}";
            return Fail(ExitCodes.Unavailable,
                $"cannot use Postgres at {Where()} (setting {RunServices.PostgresSetting}, env {RunServices.PostgresEnv}): {Reason(ex)}{alternative}");
        }
        catch (BrokerUnreachableException ex)
        {
            return Fail(ExitCodes.Unavailable,
                $"cannot reach RabbitMQ (settings RabbitMq:Host/Port/VirtualHost/Username/Password, env GRM_RABBITMQ__*): {Reason(ex)}");
        }
        catch (Exception ex) when (ex is ModelConfigException or TokenizerFormatException or OrtRuntimeException
                                       or FileNotFoundException or DirectoryNotFoundException or NotSupportedException)
        {
            return Fail(ExitCodes.Failure, ex.Message);
        }
    }

    private int Fail(int exitCode, string message)
    {
        environment.Error.WriteLine($"grm {command}: {message}");
        return exitCode;
    }

    private string Where() => Postgres ?? "(not configured)";

    // Connection refused, timeouts, a wrong password or database name: the service as configured is not usable.
    // Other server errors (a constraint, a bad query) are bugs or data problems and go up as they are.
    private static bool IsUnavailable(NpgsqlException ex) => ex is not PostgresException pg
        || pg.SqlState is PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification
            or PostgresErrorCodes.InvalidCatalogName or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.TooManyConnections
            or PostgresErrorCodes.AdminShutdown;

    private static string Reason(Exception ex) =>
        ex.InnerException is { } inner && !ex.Message.Contains(inner.Message, StringComparison.Ordinal) ? $"{ex.Message} ({inner.Message})" : ex.Message;
}
