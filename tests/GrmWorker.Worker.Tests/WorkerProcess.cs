using System.Diagnostics;
using System.Text;

namespace GrmWorker.Worker.Tests;

/// <summary>A `grm serve` child process (tiny-random model, small batches) whose stdout and stderr are drained into <see cref="Log"/>.</summary>
internal sealed class WorkerProcess : IDisposable
{
    private readonly StringBuilder _log = new();

    private WorkerProcess(ProcessStartInfo start)
    {
        Process = new Process { StartInfo = start };
        // A full pipe would block the worker; both streams are read all the time.
        Process.OutputDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        Process.ErrorDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        Process.Start();
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public string Log { get { lock (_log) return _log.ToString(); } }

    /// <summary>Starts a worker on <paramref name="queue"/> against the fixture's database and broker; <paramref name="settings"/> (GRM_* variables) override the defaults.</summary>
    public static WorkerProcess Start(WorkerFixture worker, string queue, IReadOnlyDictionary<string, string>? settings = null)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "grm.dll"), "serve"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = ServiceSettings.RepoRoot,
        };
        var env = start.Environment;
        env["GRM_POSTGRES__CONNECTIONSTRING"] = worker.ConnectionString;
        foreach (var name in new[] { "HOST", "PORT", "VIRTUALHOST", "USERNAME", "PASSWORD" })
            env[$"GRM_RABBITMQ__{name}"] = ServiceSettings.Get($"GRM_RABBITMQ__{name}");
        env["GRM_RABBITMQ__SCOREQUEUE"] = queue;
        env["GRM_MODEL__DIRECTORY"] = Path.Combine(ServiceSettings.RepoRoot, "models", "tiny-random");
        env["GRM_INFERENCE__INTRAOPTHREADS"] = "1";
        env["GRM_STOPPING__ROUNDSIZE"] = "1";
        env["GRM_WORKER__DEFAULTMAXNEWTOKENS"] = "24";
        env["GRM_WORKER__BATCHMESSAGELIMIT"] = "4";
        env["GRM_WORKER__BATCHTIMELIMIT"] = "00:00:00.100";
        env["GRM_HTTP__URL"] = "";
        env["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in settings ?? new Dictionary<string, string>()) env[name] = value;
        return new WorkerProcess(start);
    }

    public void Dispose()
    {
        if (!Process.HasExited) Process.Kill();
        Process.Dispose();
    }
}
