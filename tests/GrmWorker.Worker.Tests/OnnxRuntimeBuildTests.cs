using System.Diagnostics;
using System.Text.Json;

namespace GrmWorker.Worker.Tests;

/// <summary>
/// Which ONNX Runtime a `grm` process runs, as an operator meets it: the library override through a copy, and the
/// CUDA build (`-p:GrmExecution=cuda`) published here, which on this host without CUDA must stop with the missing
/// library and the setting named.
/// </summary>
public sealed class OnnxRuntimeBuildTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("grm-ort-").FullName;

    private static string TinyModel => Path.Combine(ServiceSettings.RepoRoot, "models", "tiny-random");

    private static string ShippedLibrary => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libonnxruntime.so");

    [Fact]
    public async Task GRM_ORT_LIBRARY_loads_the_copy_it_names_and_the_setting_wins_over_it()
    {
        var byVariable = Copy("libonnxruntime-by-variable.so");
        var bySetting = Copy("libonnxruntime-by-setting.so");

        var (code, json, log) = await RunAsync("dotnet", [GrmDll, "info", "--model", TinyModel, "--json"], new() { ["GRM_ORT_LIBRARY"] = byVariable });
        Assert.True(code == 0, log);
        Assert.Equal(byVariable, json.GetProperty("library").GetString());
        Assert.Equal("cpu", json.GetProperty("session").GetProperty("executionProvider").GetString());

        (code, json, log) = await RunAsync("dotnet", [GrmDll, "info", "--model", TinyModel, "--json"],
            new() { ["GRM_ORT_LIBRARY"] = byVariable, ["GRM_INFERENCE__ORTLIBRARYPATH"] = bySetting });
        Assert.True(code == 0, log);
        Assert.Equal(bySetting, json.GetProperty("library").GetString());
    }

    [Theory]
    [InlineData("GRM_ORT_LIBRARY", "GRM_ORT_LIBRARY")]
    [InlineData("GRM_INFERENCE__ORTLIBRARYPATH", "Inference:OrtLibraryPath")]
    public async Task A_library_override_that_does_not_exist_is_named_with_its_setting(string variable, string named)
    {
        var missing = Path.Combine(_temp, "nowhere", "libonnxruntime.so");
        var (code, json, log) = await RunAsync("dotnet", [GrmDll, "info", "--json"], new() { [variable] = missing });
        Assert.True(code == 1, log);
        var error = json.GetProperty("error").GetString()!;
        Assert.Contains(missing, error);
        Assert.Contains(named, error);
    }

    [Fact]
    public async Task The_cuda_build_publishes_and_on_a_host_without_cuda_stops_naming_the_library_and_the_setting()
    {
        var project = Path.Combine(ServiceSettings.RepoRoot, "src", "GrmWorker.Cli", "GrmWorker.Cli.csproj");
        var (code, _, log) = await RunAsync("dotnet",
            ["publish", project, "-c", "Release", "-r", "linux-x64", "-p:GrmExecution=cuda", "--artifacts-path", _temp, "-nologo", "-v", "quiet"], [], json: false);
        Assert.True(code == 0, "publish with GrmExecution=cuda failed: " + log);
        var published = Path.Combine(_temp, "publish", "GrmWorker.Cli", "release_linux-x64");
        Assert.True(File.Exists(Path.Combine(published, "libonnxruntime_providers_cuda.so")), "the CUDA provider library is not in the publish folder");

        (code, var json, log) = await RunAsync(Path.Combine(published, "grm"), ["info", "--execution-provider", "cuda", "--model", TinyModel, "--json"], []);
        Assert.True(code == 1, log);
        Assert.Equal("cuda", json.GetProperty("build").GetString());
        Assert.Contains("CUDAExecutionProvider", json.GetProperty("providers").EnumerateArray().Select(p => p.GetString()));
        var error = json.GetProperty("error").GetString()!;
        Assert.Contains("Inference:ExecutionProvider=cuda", error);
        Assert.Contains("libcublasLt.so.13", error); // CUDA 13's cuBLAS is what the provider library loads first
    }

    private static string GrmDll => Path.Combine(AppContext.BaseDirectory, "grm.dll");

    private string Copy(string name)
    {
        var path = Path.Combine(_temp, name);
        File.Copy(ShippedLibrary, path);
        return path;
    }

    private static async Task<(int Code, JsonElement Json, string Log)> RunAsync(string file, string[] args, Dictionary<string, string> env, bool json = true)
    {
        var start = new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = ServiceSettings.RepoRoot,
        };
        foreach (var (key, value) in env) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout;
        var log = $"exit {process.ExitCode}; stdout: {output}; stderr: {await stderr}";
        return (process.ExitCode, json ? JsonDocument.Parse(output).RootElement.Clone() : default, log);
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);
}
