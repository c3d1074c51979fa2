using System.Diagnostics;
using GrmWorker.Inference.Generation;
using GrmWorker.Inference.Runtime;
using GrmWorker.Inference.Sampling;
using Microsoft.ML.OnnxRuntime;

namespace GrmWorker.Inference.Tests.Runtime;

/// <summary>The narrow layer over Microsoft's managed API: library choice, sessions, runs, and the errors they turn into.</summary>
public sealed class OrtRuntimeTests
{
    public OrtRuntimeTests() => TestAssets.EnsureRuntime();

    [Fact]
    public void The_version_and_library_are_those_of_the_package()
    {
        Assert.Equal("1.32.0", OrtLibrary.Version());
        Assert.Contains("CPUExecutionProvider", OrtLibrary.AvailableProviders());
        var loaded = OrtLibrary.LoadedPath();
        Assert.NotNull(loaded);
        Assert.StartsWith("libonnxruntime.so", Path.GetFileName(loaded));
    }

    [Fact]
    public void A_runner_runs_by_name_and_through_an_io_binding()
    {
        using var session = OrtSessions.Create(TestAssets.AddModel, new InferenceOptions { IntraOpThreads = 1 });
        var runner = new OrtRunner(session, TestAssets.AddModel);
        using var a = OrtTensors.Over(new float[] { 1, 2, 3, 4, 5, 6 }.AsMemory(), 2, 3);
        using var b = OrtTensors.Over(new float[] { 1, 1, 1, 1, 1, 1 }.AsMemory(), 2, 3);
        using var x = OrtTensors.Over(new long[] { 5 }.AsMemory(), 1);
        using (var outputs = runner.Run(["A", "B", "X"], [a, b, x], ["C", "Y"], CancellationToken.None))
        {
            Assert.Equal([2f, 3f, 4f, 5f, 6f, 7f], outputs[0].Elements<float>().ToArray());
            Assert.Equal([10L], outputs[1].Elements<long>().ToArray());
        }

        using var binding = session.CreateIoBinding();
        var c = new float[6];
        using var cTensor = OrtTensors.Over(c.AsMemory(), 2, 3);
        binding.BindInput("A", a);
        binding.BindInput("B", b);
        binding.BindInput("X", x);
        binding.BindOutput("C", cTensor);                               // into our buffer
        binding.BindOutputToDevice("Y", OrtMemoryInfo.DefaultInstance); // ORT allocates
        using var bound = runner.Run(binding, CancellationToken.None);
        Assert.Equal([2f, 3f, 4f, 5f, 6f, 7f], c);
        Assert.Equal([10L], bound[1].Elements<long>().ToArray());
    }

    [Fact]
    public void A_wrong_input_name_is_an_error_that_names_the_model_and_the_input()
    {
        using var session = OrtSessions.Create(TestAssets.AddModel, new InferenceOptions());
        var runner = new OrtRunner(session, TestAssets.AddModel);
        using var x = OrtTensors.Over(new long[] { 1 }.AsMemory(), 1);
        var ex = Assert.Throws<OrtRuntimeException>(() => runner.Run(["not_an_input"], [x], ["Y"], CancellationToken.None));
        Assert.Contains("not_an_input", ex.Message);
        Assert.Contains(TestAssets.AddModel, ex.Message);
    }

    [Fact]
    public void A_missing_model_file_names_the_path()
    {
        var path = Path.Combine(Path.GetTempPath(), "grm-no-such-model.onnx");
        var ex = Assert.Throws<FileNotFoundException>(() => CausalLm.Load(path));
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void Corrupt_model_bytes_are_an_error_that_names_the_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"grm-corrupt-{Guid.NewGuid():N}.onnx");
        var bytes = File.ReadAllBytes(TestAssets.AddModel);
        Array.Reverse(bytes);
        File.WriteAllBytes(path, bytes);
        try
        {
            var ex = Assert.Throws<OrtRuntimeException>(() => CausalLm.Load(path));
            Assert.Contains(path, ex.Message);
            Assert.IsType<OnnxRuntimeException>(ex.InnerException);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Asking_for_another_library_after_loading_one_is_refused()
    {
        var other = Path.Combine(Path.GetTempPath(), $"grm-other-{Guid.NewGuid():N}", "libonnxruntime.so");
        Directory.CreateDirectory(Path.GetDirectoryName(other)!);
        File.WriteAllBytes(other, [0]);
        try
        {
            var ex = Assert.Throws<OrtRuntimeException>(() => OrtLibrary.Configure(other));
            Assert.Contains("already loaded", ex.Message);
            Assert.Contains(other, ex.Message);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(other)!, recursive: true);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void An_empty_library_path_setting_means_not_set(string path)
    {
        OrtLibrary.Configure(path);
        Assert.Equal("1.32.0", OrtLibrary.Version());
    }

    [Fact]
    public void Cuda_on_the_cpu_build_stops_the_load_with_the_setting_named()
    {
        var options = new InferenceOptions
        {
            ExecutionProvider = ExecutionProviderKind.Cuda,
            CudaProviderOptions = new Dictionary<string, string> { ["arena_extend_strategy"] = "kSameAsRequested" },
        };
        var ex = Assert.Throws<OrtRuntimeException>(() => CausalLm.Load(TestAssets.TinyModelDir + "/model.onnx", options));
        Assert.Contains("Inference:ExecutionProvider=cuda", ex.Message);
        Assert.Contains("GrmExecution=cuda", ex.Message);
        Assert.IsType<OnnxRuntimeException>(ex.InnerException);
    }

    [Fact]
    public void Cancelling_stops_a_long_prefill_inside_the_forward_pass()
    {
        var config = ModelConfig.Load(TestAssets.TinyModelDir);
        using var model = CausalLm.Load(config, new InferenceOptions { IntraOpThreads = 1 });
        var generator = new BatchedGenerator(model, GeneratorSettings.From(config) with { SharePrefix = false });
        var prompt = Enumerable.Range(0, 2000).Select(i => 10 + (i % 2000)).ToArray();
        var jobs = Enumerable.Range(0, 8).Select(i => GenerationJob.Create(prompt, 1, (ulong)i, SamplingOptions.GreedyDecoding, 4)).ToArray();
        using var run = generator.Start(jobs);
        using var cts = new CancellationTokenSource();
        var watch = Stopwatch.StartNew();
        cts.CancelAfter(TimeSpan.FromMilliseconds(200));
        // The prefill is one forward pass of seconds (8 x 2,000 tokens, one thread): only the terminate flag can end
        // it early, and then the runner says so (a token checked between passes would let Prefill return normally).
        var ex = Assert.ThrowsAny<OperationCanceledException>(() => run.Prefill(cts.Token));
        Assert.Equal("The forward pass was stopped by cancellation.", ex.Message);
        Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(30));
    }
}
