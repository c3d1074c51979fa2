namespace GrmWorker.Inference.Native;

/// <summary>
/// An OrtIoBinding: inputs bound to existing values, outputs either to values we made or to a device
/// (ONNX Runtime allocates them there). With CUDA, binding the present KV outputs to device memory and
/// binding them back as the next step's past keeps the cache on the GPU.
/// </summary>
internal sealed unsafe class OrtIoBinding : IDisposable
{
    private readonly OrtSession _session;

    public OrtIoBinding(OrtSession session)
    {
        _session = session;
        var api = session.Api;
        nint raw;
        api.Check(api.CreateIoBinding(session.Handle.DangerousGetHandle(), &raw));
        Handle = new OrtIoBindingHandle(api, raw);
    }

    public OrtIoBindingHandle Handle { get; }

    private OrtApi Api => _session.Api;

    public void BindInput(string name, OrtTensor value) =>
        Api.Check(Api.BindInput(Handle.DangerousGetHandle(), _session.Utf8(name), value.Handle.DangerousGetHandle()));

    public void BindOutput(string name, OrtTensor value) =>
        Api.Check(Api.BindOutput(Handle.DangerousGetHandle(), _session.Utf8(name), value.Handle.DangerousGetHandle()));

    public void BindOutputToDevice(string name, OrtMemoryInfo memory) =>
        Api.Check(Api.BindOutputToDevice(Handle.DangerousGetHandle(), _session.Utf8(name), memory.Handle.DangerousGetHandle()));

    /// <summary>The outputs of the last run, in binding order; each is owned by the caller.</summary>
    public OrtTensor[] GetOutputs()
    {
        var api = Api;
        nint* values;
        nuint count;
        api.Check(api.GetBoundOutputValues(Handle.DangerousGetHandle(), api.DefaultAllocator, &values, &count));
        if (values == null)
        {
            return [];
        }
        using var array = new OrtAllocatedBuffer(api, (nint)values);
        var result = new OrtTensor[(int)count];
        var taken = 0;
        try
        {
            for (; taken < result.Length; taken++)
            {
                result[taken] = OrtTensor.TakeOwnership(api, values[taken]);
            }
        }
        catch
        {
            for (var i = taken + 1; i < result.Length; i++)
            {
                api.ReleaseValue(values[i]);
            }
            foreach (var t in result.Take(taken))
            {
                t.Dispose();
            }
            throw;
        }
        return result;
    }

    public void ClearInputs() => Api.ClearBoundInputs(Handle.DangerousGetHandle());

    public void ClearOutputs() => Api.ClearBoundOutputs(Handle.DangerousGetHandle());

    public void Dispose() => Handle.Dispose();
}
