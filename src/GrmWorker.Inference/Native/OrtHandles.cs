using System.Runtime.InteropServices;

namespace GrmWorker.Inference.Native;

/// <summary>A native ONNX Runtime object, released exactly once through its own Release* entry.</summary>
internal abstract class OrtHandle : SafeHandle
{
    protected OrtHandle(OrtApi api, nint handle)
        : base(0, ownsHandle: true)
    {
        Api = api;
        SetHandle(handle);
    }

    protected OrtApi Api { get; }

    public override bool IsInvalid => handle == 0;
}

internal sealed unsafe class OrtEnvHandle(OrtApi api, nint handle) : OrtHandle(api, handle)
{
    protected override bool ReleaseHandle()
    {
        Api.ReleaseEnv(handle);
        return true;
    }
}

internal sealed unsafe class OrtSessionOptionsHandle(OrtApi api, nint handle) : OrtHandle(api, handle)
{
    protected override bool ReleaseHandle()
    {
        Api.ReleaseSessionOptions(handle);
        return true;
    }
}

internal sealed unsafe class OrtSessionHandle(OrtApi api, nint handle) : OrtHandle(api, handle)
{
    protected override bool ReleaseHandle()
    {
        Api.ReleaseSession(handle);
        return true;
    }
}

internal sealed unsafe class OrtValueHandle(OrtApi api, nint handle) : OrtHandle(api, handle)
{
    protected override bool ReleaseHandle()
    {
        Api.ReleaseValue(handle);
        return true;
    }
}

internal sealed unsafe class OrtMemoryInfoHandle(OrtApi api, nint handle) : OrtHandle(api, handle)
{
    protected override bool ReleaseHandle()
    {
        Api.ReleaseMemoryInfo(handle);
        return true;
    }
}

internal sealed unsafe class OrtIoBindingHandle(OrtApi api, nint handle) : OrtHandle(api, handle)
{
    protected override bool ReleaseHandle()
    {
        Api.ReleaseIoBinding(handle);
        return true;
    }
}

internal sealed unsafe class OrtRunOptionsHandle(OrtApi api, nint handle) : OrtHandle(api, handle)
{
    protected override bool ReleaseHandle()
    {
        Api.ReleaseRunOptions(handle);
        return true;
    }
}

internal sealed unsafe class OrtTypeInfoHandle(OrtApi api, nint handle) : OrtHandle(api, handle)
{
    protected override bool ReleaseHandle()
    {
        Api.ReleaseTypeInfo(handle);
        return true;
    }
}

internal sealed unsafe class OrtTensorTypeAndShapeInfoHandle(OrtApi api, nint handle) : OrtHandle(api, handle)
{
    protected override bool ReleaseHandle()
    {
        Api.ReleaseTensorTypeAndShapeInfo(handle);
        return true;
    }
}

internal sealed unsafe class OrtCudaProviderOptionsHandle(OrtApi api, nint handle) : OrtHandle(api, handle)
{
    protected override bool ReleaseHandle()
    {
        Api.ReleaseCudaProviderOptions(handle);
        return true;
    }
}

/// <summary>A buffer ORT allocated with its default allocator for us (e.g. GetBoundOutputValues' array).</summary>
internal sealed unsafe class OrtAllocatedBuffer(OrtApi api, nint handle) : OrtHandle(api, handle)
{
    protected override bool ReleaseHandle()
    {
        var status = Api.AllocatorFree(Api.DefaultAllocator, (void*)handle);
        if (status == 0)
        {
            return true;
        }
        Api.ReleaseStatus(status);
        return false;
    }
}
