using GrmWorker.Inference.Native;

namespace GrmWorker.Inference.Tests.Native;

public sealed class OrtBindingTests
{
    private static OrtEnvironment Env => TestAssets.Environment;

    [Fact]
    public void Version_string_comes_from_the_loaded_library()
    {
        Assert.Matches(@"^1\.\d+\.\d+", Env.Api.VersionString);
        Assert.True(File.Exists(Env.Api.LibraryPath));
    }

    [Fact]
    public void Tensor_over_a_managed_buffer_round_trips_data_shape_and_type()
    {
        var data = GC.AllocateArray<long>(6, pinned: true);
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (i * 7) - 3;
        }
        using var tensor = OrtTensor.OverBuffer(Env, data.AsMemory(), [2, 3]);
        var (type, shape) = tensor.QueryTypeAndShape();

        Assert.Equal(TensorElementType.Int64, type);
        Assert.Equal([2L, 3L], shape);
        Assert.Equal(data, tensor.AsSpan<long>().ToArray());
        // The tensor is a view, not a copy: writes through it land in the managed array.
        tensor.AsSpan<long>()[5] = 42;
        Assert.Equal(42, data[5]);
    }

    [Fact]
    public void Tensor_over_half_buffer_reports_float16()
    {
        var data = new Half[] { (Half)1.5f, (Half)(-2f) };
        using var tensor = OrtTensor.OverBuffer(Env, data.AsMemory(), [1, 2]);
        Assert.Equal(TensorElementType.Float16, tensor.ElementType);
        Assert.Equal(4, tensor.ByteCount);
        Assert.Equal((Half)(-2f), tensor.AsSpan<Half>()[1]);
    }

    [Fact]
    public void Buffer_and_shape_must_agree()
    {
        var data = new float[5];
        Assert.Throws<ArgumentException>(() => OrtTensor.OverBuffer(Env, data.AsMemory(), [2, 3]));
    }

    [Fact]
    public void Ort_allocated_tensor_reports_its_shape_and_type()
    {
        using var tensor = OrtTensor.Allocate(Env.Api, TensorElementType.Float, [3, 0, 4]);
        Assert.Equal([3L, 0L, 4L], tensor.Shape);
        Assert.Equal(0, tensor.ElementCount);
        using var full = OrtTensor.Allocate(Env.Api, TensorElementType.Float, [2, 2]);
        full.AsSpan<float>().Fill(1.25f);
        Assert.All(full.AsSpan<float>().ToArray(), v => Assert.Equal(1.25f, v));
    }

    [Fact]
    public void An_ort_status_becomes_an_exception_with_code_and_message()
    {
        var api = Env.Api;
        var status = api.NewStatus(OrtErrorCode.InvalidArgument, "the status message");
        var ex = Assert.Throws<OrtException>(() => api.Check(status));
        Assert.Equal(OrtErrorCode.InvalidArgument, ex.Code);
        Assert.Equal("the status message", ex.OrtMessage);
        Assert.Contains("the status message", ex.Message);
    }

    [Fact]
    public void Session_reads_input_and_output_metadata()
    {
        using var session = OrtSession.Create(Env, TestAssets.AddModel, new OrtSessionSettings { IntraOpThreads = 1 });
        Assert.Equal(["A", "B", "X"], session.Inputs.Select(i => i.Name));
        Assert.Equal(["C", "Y"], session.Outputs.Select(o => o.Name));
        Assert.Equal(TensorElementType.Float, session.Inputs[0].ElementType);
        Assert.Equal([2L, 3L], session.Inputs[0].Dimensions);
        Assert.Equal(TensorElementType.Int64, session.Inputs[2].ElementType);
        Assert.Equal([-1L], session.Inputs[2].Dimensions); // symbolic "n"
    }

    [Fact]
    public void Session_runs_with_ort_allocated_outputs()
    {
        using var session = OrtSession.Create(Env, TestAssets.AddModel, new OrtSessionSettings { IntraOpThreads = 1 });
        using var a = OrtTensor.OverBuffer(Env, new float[] { 1, 2, 3, 4, 5, 6 }.AsMemory(), [2, 3]);
        using var b = OrtTensor.OverBuffer(Env, new float[] { 10, 20, 30, 40, 50, 60 }.AsMemory(), [2, 3]);
        using var x = OrtTensor.OverBuffer(Env, new long[] { 1, -2, 3, 4 }.AsMemory(), [4]);

        var outputs = session.Run(["A", "B", "X"], [a, b, x], ["Y", "C"]);
        try
        {
            Assert.Equal([2L, -4L, 6L, 8L], outputs[0].AsSpan<long>().ToArray());
            Assert.Equal([11f, 22f, 33f, 44f, 55f, 66f], outputs[1].AsSpan<float>().ToArray());
            Assert.Equal([2L, 3L], outputs[1].Shape);
        }
        finally
        {
            foreach (var o in outputs)
            {
                o.Dispose();
            }
        }
    }

    [Fact]
    public void Session_runs_through_an_io_binding()
    {
        using var session = OrtSession.Create(Env, TestAssets.AddModel, new OrtSessionSettings { IntraOpThreads = 1 });
        using var binding = new OrtIoBinding(session);
        using var a = OrtTensor.OverBuffer(Env, new float[] { 1, 2, 3, 4, 5, 6 }.AsMemory(), [2, 3]);
        using var b = OrtTensor.OverBuffer(Env, new float[] { 1, 1, 1, 1, 1, 1 }.AsMemory(), [2, 3]);
        using var x = OrtTensor.OverBuffer(Env, new long[] { 5 }.AsMemory(), [1]);
        var c = new float[6];
        using var cTensor = OrtTensor.OverBuffer(Env, c.AsMemory(), [2, 3]);
        binding.BindInput("A", a);
        binding.BindInput("B", b);
        binding.BindInput("X", x);
        binding.BindOutput("C", cTensor);               // into our buffer
        binding.BindOutputToDevice("Y", Env.CpuMemory); // ORT allocates

        session.Run(binding);
        var outputs = binding.GetOutputs();
        try
        {
            Assert.Equal([2f, 3f, 4f, 5f, 6f, 7f], c);
            Assert.Equal(2, outputs.Length);
            Assert.Equal([10L], outputs[1].AsSpan<long>().ToArray());
        }
        finally
        {
            foreach (var o in outputs)
            {
                o.Dispose();
            }
        }
    }

    [Fact]
    public void Feeding_a_wrong_input_name_is_a_readable_ort_error()
    {
        using var session = OrtSession.Create(Env, TestAssets.AddModel, new OrtSessionSettings());
        using var x = OrtTensor.OverBuffer(Env, new long[] { 1 }.AsMemory(), [1]);
        var ex = Assert.Throws<OrtException>(() => session.Run(["not_an_input"], [x], ["Y"]));
        Assert.Contains("not_an_input", ex.Message);
        Assert.Equal(OrtErrorCode.InvalidArgument, ex.Code);
    }

    [Fact]
    public void A_missing_model_file_names_the_path()
    {
        var path = Path.Combine(Path.GetTempPath(), "grm-no-such-model.onnx");
        var ex = Assert.Throws<FileNotFoundException>(() => OrtSession.Create(Env, path, new OrtSessionSettings()));
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void Corrupt_model_bytes_are_a_readable_ort_error()
    {
        var path = Path.Combine(Path.GetTempPath(), $"grm-corrupt-{Guid.NewGuid():N}.onnx");
        var bytes = File.ReadAllBytes(TestAssets.AddModel);
        Array.Reverse(bytes);
        File.WriteAllBytes(path, bytes);
        try
        {
            var ex = Assert.Throws<OrtException>(() => OrtSession.Create(Env, path, new OrtSessionSettings()));
            Assert.NotEqual(OrtErrorCode.Ok, ex.Code);
            Assert.False(string.IsNullOrWhiteSpace(ex.OrtMessage));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_bad_library_path_names_the_setting_and_the_path()
    {
        const string path = "/nonexistent/dir/libonnxruntime.so.1";
        var ex = Assert.Throws<OrtLibraryNotFoundException>(() => OrtLibraryLocator.LoadLibrary(path));
        Assert.Contains(OrtLibraryLocator.EnvironmentVariable, ex.Message);
        Assert.Contains(path, ex.Message);
        Assert.Equal([path], ex.PathsTried);
    }

    [Fact]
    public void Asking_for_another_library_after_loading_one_is_refused()
    {
        _ = Env;
        var other = Path.Combine(TestAssets.RepoRoot, "tests", "libonnxruntime.so");
        var ex = Assert.Throws<OrtLibraryNotFoundException>(() => OrtApi.Load(other));
        Assert.Contains(OrtLibraryLocator.EnvironmentVariable, ex.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void An_empty_library_path_setting_means_not_set_after_a_library_is_loaded(string path)
    {
        var env = Env;
        Assert.Same(env.Api, OrtApi.Load(path));
        Assert.Same(env, OrtEnvironment.Shared(path));
    }

    [Fact]
    public void The_cuda_provider_on_the_cpu_build_is_a_readable_ort_error()
    {
        // Exercises CreateCUDAProviderOptions / UpdateCUDAProviderOptions / AppendExecutionProvider_CUDA_V2:
        // the bundled CPU build refuses CUDA with its own message instead of crashing.
        var settings = new OrtSessionSettings
        {
            ExecutionProvider = ExecutionProviderKind.Cuda,
            CudaProviderOptions = new Dictionary<string, string> { ["arena_extend_strategy"] = "kSameAsRequested" },
        };
        var ex = Assert.ThrowsAny<OrtException>(() => OrtSession.Create(Env, TestAssets.AddModel, settings));
        Assert.Contains("CUDA", ex.Message);
        Assert.Contains(OrtLibraryLocator.EnvironmentVariable, ex.Message);
        Assert.False(string.IsNullOrWhiteSpace(ex.OrtMessage));
    }
}
