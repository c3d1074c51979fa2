using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using GrmWorker.Testing;
using Xunit.Abstractions;

namespace GrmWorker.Worker.Tests;

/// <summary>
/// The Python package clients/python (grm_client, its TRL and verl adapters) against the in-process worker with the
/// bundled trained GRM: it is pip-installed into a fresh venv (system site packages, for Debian's python3-pika; no
/// network), then its unittest suite (clients/python/tests) and the trainer examples (examples/python/trl_example.py,
/// verl_example.py) run with that venv's python and the worker's queue in GRM_RABBITMQ__SCOREQUEUE.
/// </summary>
[Collection(BundledGrmCollection.Name)]
public sealed partial class PythonPackageTests(BundledGrmWorkerFixture worker, PythonPackageTests.Venv venv, ITestOutputHelper log)
    : IClassFixture<PythonPackageTests.Venv>
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(6);

    [Fact]
    public async Task The_python_package_installs_and_its_unittest_suite_passes_against_the_worker()
    {
        var (exit, output) = await venv.RunAsync(worker, ["-m", "unittest", "discover", "-s",
            Path.Combine(ServiceSettings.RepoRoot, "clients", "python", "tests"), "-v"], Limit);

        log.WriteLine(output);
        Assert.True(exit == 0, $"python unittest exit {exit}:\n{output}");
        Assert.Matches(RanTests(), output);
        Assert.Contains("\nOK", output, StringComparison.Ordinal);
        Assert.DoesNotContain("skipped", output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_trl_example_prints_one_reward_per_completion()
    {
        var (exit, output) = await venv.RunAsync(worker, [Example("trl_example.py")], Limit);

        log.WriteLine(output);
        Assert.True(exit == 0, $"trl_example.py exit {exit}:\n{output}");
        var rewards = Numbers(Assert.Single(output.Split('\n'), l => l.StartsWith("rewards/grm:", StringComparison.Ordinal)));
        Assert.Equal(4, rewards.Count);
        Assert.All(rewards, r => Assert.InRange(r, 1, 10));
    }

    [Fact]
    public async Task The_verl_example_prints_one_score_per_response_and_one_best_per_prompt()
    {
        var (exit, output) = await venv.RunAsync(worker, [Example("verl_example.py")], Limit);

        log.WriteLine(output);
        Assert.True(exit == 0, $"verl_example.py exit {exit}:\n{output}");
        var line = Assert.Single(output.Split('\n'), l => l.StartsWith("scores:", StringComparison.Ordinal));
        var parts = line.Split("best:");
        var scores = Numbers(parts[0]);
        Assert.Equal(4, scores.Count);
        Assert.All(scores, s => Assert.InRange(s, 1, 10));
        var best = Numbers(parts[1]);
        Assert.Equal(4, best.Count);
        Assert.Equal(1, best[0] + best[2]); // two prompts, interleaved: one best response each
        Assert.Equal(1, best[1] + best[3]);
    }

    [Fact]
    public async Task A_broker_connection_cut_in_the_middle_of_score_many_loses_no_result()
    {
        const int jobs = 24;
        await using var proxy = new TcpPauseProxy(ServiceSettings.Get("GRM_RABBITMQ__HOST"), int.Parse(ServiceSettings.Get("GRM_RABBITMQ__PORT"), CultureInfo.InvariantCulture));
        var seen = 0;
        var firstResults = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var script = Path.Combine(ServiceSettings.RepoRoot, "tests", "GrmWorker.Worker.Tests", "python", "score_many_through_cut.py");

        var run = venv.RunAsync(worker, [script, jobs.ToString(CultureInfo.InvariantCulture)], Limit, proxy.Port, line =>
        {
            if (line.StartsWith("result ", StringComparison.Ordinal) && Interlocked.Increment(ref seen) == 3) firstResults.TrySetResult();
        });
        await firstResults.Task.WaitAsync(Limit);
        // The broker is gone for the client (its connection cut, new ones refused) until it has tried to come back twice.
        proxy.TakeDown();
        var refusedBefore = proxy.Refused;
        await Poll.UntilAsync(() => proxy.Refused >= refusedBefore + 2, TimeSpan.FromMinutes(1), () => "the client did not try to reconnect twice");
        proxy.BringUp();
        var (exit, output) = await run;

        log.WriteLine(output);
        Assert.True(exit == 0, $"exit {exit}:\n{output}");
        var summary = System.Text.Json.JsonDocument.Parse(output.Split('\n').Last(l => l.StartsWith('{'))).RootElement;
        Assert.Equal(jobs, summary.GetProperty("results").GetInt32());
        Assert.True(summary.GetProperty("reconnects").GetInt32() >= 1, output);
        var ids = summary.GetProperty("ids").EnumerateArray().Select(i => i.GetString()!).ToArray();
        Assert.Equal(jobs, await worker.ScalarAsync<long>("SELECT count(*) FROM scoring_jobs WHERE request_id = ANY($1)", (object)ids));
    }

    private static string Example(string name) => Path.Combine(ServiceSettings.RepoRoot, "examples", "python", name);

    private static List<double> Numbers(string text) =>
        NumberPattern().Matches(text.Contains('[', StringComparison.Ordinal) ? text[text.IndexOf('[', StringComparison.Ordinal)..] : text)
            .Select(m => double.Parse(m.Value, CultureInfo.InvariantCulture)).ToList();

    [GeneratedRegex(@"-?\d+(\.\d+)?")]
    private static partial Regex NumberPattern();

    [GeneratedRegex(@"Ran [1-9]\d* tests? in")]
    private static partial Regex RanTests();

    /// <summary>A venv (system site packages) with ./clients/python pip-installed from a copy of its sources.</summary>
    public sealed class Venv : IAsyncLifetime
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("grm-pyvenv-").FullName;

        public string Python => Path.Combine(_dir, "venv", "bin", "python");

        public async Task InitializeAsync()
        {
            var basePython = BasePython();
            var (exit, output) = await RunProcessAsync(basePython, ["-m", "venv", "--system-site-packages", Path.Combine(_dir, "venv")],
                null, TimeSpan.FromMinutes(2));
            if (exit != 0) throw new InvalidOperationException($"{basePython} -m venv failed ({exit}); install Debian python3-venv:\n{output}");

            // Copy the package's sources, so the build leaves no build/ or egg-info in the checkout.
            var source = Path.Combine(ServiceSettings.RepoRoot, "clients", "python");
            var copy = Path.Combine(_dir, "src");
            Directory.CreateDirectory(Path.Combine(copy, "grm_client"));
            foreach (var file in new[] { "pyproject.toml", "README.md" }) File.Copy(Path.Combine(source, file), Path.Combine(copy, file));
            foreach (var file in Directory.GetFiles(Path.Combine(source, "grm_client"), "*.py"))
                File.Copy(file, Path.Combine(copy, "grm_client", Path.GetFileName(file)));
            (exit, output) = await RunProcessAsync(Python, ["-m", "pip", "install", "--no-build-isolation", "--no-index",
                "--disable-pip-version-check", "--quiet", copy], null, TimeSpan.FromMinutes(3));
            if (exit != 0) throw new InvalidOperationException($"pip install ./clients/python failed ({exit}):\n{output}");

            // The tests must import the installed package, not a source tree.
            (exit, output) = await RunProcessAsync(Python, ["-c", "import grm_client; print(grm_client.__file__)"], null, TimeSpan.FromMinutes(1));
            if (exit != 0 || !output.Trim().StartsWith(Path.Combine(_dir, "venv"), StringComparison.Ordinal))
                throw new InvalidOperationException($"grm_client does not import from the venv ({exit}): {output}");
        }

        public Task DisposeAsync()
        {
            Directory.Delete(_dir, recursive: true);
            return Task.CompletedTask;
        }

        /// <summary>Runs the venv's python (working directory: a temp dir) with the worker's broker and queue.</summary>
        public Task<(int ExitCode, string Output)> RunAsync(WorkerFixture worker, string[] args, TimeSpan limit) =>
            RunAsync(worker, args, limit, null, null);

        /// <summary>
        /// As above; <paramref name="amqpPort"/> replaces the broker's port (e.g. a proxy in front of it) and
        /// <paramref name="onLine"/> sees each output line as it comes.
        /// </summary>
        public Task<(int ExitCode, string Output)> RunAsync(WorkerFixture worker, string[] args, TimeSpan limit, int? amqpPort, Action<string>? onLine)
        {
            var env = new Dictionary<string, string>
            {
                ["GRM_RABBITMQ__SCOREQUEUE"] = worker.ScoreQueue,
                ["GRM_RABBITMQ__RESULTEXCHANGE"] = WorkerFixture.ResultExchange,
                ["PYTHONUNBUFFERED"] = "1",
            };
            foreach (var name in new[] { "HOST", "PORT", "VIRTUALHOST", "USERNAME", "PASSWORD" })
                env[$"GRM_RABBITMQ__{name}"] = ServiceSettings.Get($"GRM_RABBITMQ__{name}");
            foreach (var name in new[] { "GRM_LOCAL_AMQPS_PORT", "GRM_LOCAL_TLS_CA" }) // the TLS test
                env[name] = ServiceSettings.Get(name);
            if (amqpPort is { } port) env["GRM_RABBITMQ__PORT"] = port.ToString(CultureInfo.InvariantCulture);
            return RunProcessAsync(Python, args, env, limit, onLine);
        }

        // A python3 that has pika and can make venvs with pip (Debian: python3-pika, python3-venv).
        private static string BasePython()
        {
            foreach (var candidate in new[] { "/usr/bin/python3", "python3" })
            {
                try
                {
                    using var probe = Process.Start(new ProcessStartInfo(candidate, ["-c", "import pika, ensurepip, venv"])
                        { RedirectStandardError = true, RedirectStandardOutput = true })!;
                    probe.WaitForExit();
                    if (probe.ExitCode == 0) return candidate;
                }
                catch (System.ComponentModel.Win32Exception)
                {
                    // not installed under this name
                }
            }
            throw new InvalidOperationException("No python3 with pika and venv: install Debian python3-pika and python3-venv " +
                "(deploy/local/services-up.sh and deploy/local/setup.sh --test-tools do).");
        }

        private async Task<(int ExitCode, string Output)> RunProcessAsync(string file, string[] args, Dictionary<string, string>? env, TimeSpan limit,
            Action<string>? onLine = null)
        {
            var start = new ProcessStartInfo(file, args)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = _dir,
            };
            // Nothing of this process's broker settings leaks in (e.g. a GRM_RABBITMQ__USETLS of the caller's shell).
            foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("GRM_", StringComparison.OrdinalIgnoreCase)).ToList())
                start.Environment.Remove(key);
            foreach (var (key, value) in env ?? []) start.Environment[key] = value;
            using var process = Process.Start(start)!;
            var output = new StringBuilder();
            var lockObj = new object();
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (lockObj) output.AppendLine(e.Data);
                onLine?.Invoke(e.Data);
            };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (lockObj) output.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            using var timeout = new CancellationTokenSource(limit);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                lock (lockObj) return (-1, $"killed after {limit}:\n{output}");
            }
            await process.WaitForExitAsync(); // drains the output events
            lock (lockObj) return (process.ExitCode, output.ToString());
        }
    }
}
