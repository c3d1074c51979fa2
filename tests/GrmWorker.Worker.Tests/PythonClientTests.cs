using System.Diagnostics;
using System.Text.Json;

namespace GrmWorker.Worker.Tests;

/// <summary>The README's Python client (examples/python/grm_publish.py, Debian python3-pika) against the in-process worker.</summary>
[Collection(WorkerCollection.Name)]
public sealed class PythonClientTests(WorkerFixture worker)
{
    [Fact]
    public async Task The_python_client_publishes_requests_and_prints_one_result_per_request()
    {
        var route = WorkerFixture.NewRoute();
        var ids = new[] { WorkerFixture.NewRequestId(), WorkerFixture.NewRequestId() };
        var file = Path.Combine(Path.GetTempPath(), $"grm-python-{Guid.NewGuid():N}.jsonl");
        await File.WriteAllLinesAsync(file, [
            JsonSerializer.Serialize(new { requestId = ids[0], route, query = "What is 2 + 2?", responses = new[] { "4", "5" }, metadata = new { from = "python" } }),
            JsonSerializer.Serialize(new { requestId = ids[1], route, query = "", responses = new[] { "empty query" } }),
        ]);
        try
        {
            var (exitCode, stdout, stderr) = await RunAsync(Python(), [Path.Combine(ServiceSettings.RepoRoot, "examples", "python", "grm_publish.py"),
                file, "--queue", worker.ScoreQueue, "--timeout", "60"]);

            Assert.True(exitCode == 0, $"exit {exitCode}: {stderr}");
            var results = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Equal(2, results.Count);
            var first = Assert.Single(results, r => r.GetProperty("requestId").GetString() == ids[0]);
            Assert.Equal("failed", first.GetProperty("status").GetString());
            Assert.Equal("python", first.GetProperty("metadata").GetProperty("from").GetString());
            var second = Assert.Single(results, r => r.GetProperty("requestId").GetString() == ids[1]);
            Assert.Equal("rejected", second.GetProperty("status").GetString());
        }
        finally
        {
            File.Delete(file);
        }
    }

    // The first python3 that can import pika; Debian's lives in /usr/bin even when another python3 comes first on PATH.
    private static string Python()
    {
        foreach (var candidate in new[] { "python3", "/usr/bin/python3" })
        {
            try
            {
                using var probe = Process.Start(new ProcessStartInfo(candidate, ["-c", "import pika"]) { RedirectStandardError = true })!;
                probe.WaitForExit();
                if (probe.ExitCode == 0) return candidate;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // not installed under this name
            }
        }
        throw new InvalidOperationException("No python3 with pika: install Debian's python3-pika (deploy/local/services-up.sh installs it).");
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string file, string[] args)
    {
        var start = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var name in new[] { "HOST", "PORT", "VIRTUALHOST", "USERNAME", "PASSWORD" })
            start.Environment[$"GRM_RABBITMQ__{name}"] = ServiceSettings.Get($"GRM_RABBITMQ__{name}");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
