using Microsoft.Extensions.DependencyInjection;

namespace GrmWorker.Worker.Runs;

/// <summary>
/// Where a command writes and which settings it sees. The process uses the console and the GRM_* environment
/// (<see cref="Process"/>); tests run the same command in-process with string writers, settings for their own
/// database, and <see cref="ConfigureServices"/> to swap a service (a replayed GRM instead of the model).
/// </summary>
internal sealed record RunEnvironment(TextWriter Out, TextWriter Error)
{
    public static RunEnvironment Process => new(Console.Out, Console.Error) { Interactive = !Console.IsOutputRedirected };

    /// <summary>Configuration keys (<c>Postgres:ConnectionString</c>, ...) applied over appsettings.json and GRM_* variables.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>Runs after the command's own registrations.</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }

    /// <summary>Whether stdout is a terminal (progress bars and colour only then).</summary>
    public bool Interactive { get; init; }
}
