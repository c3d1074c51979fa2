using GrmWorker.Inference.Runtime;

namespace GrmWorker.Inference.Tests.Runtime;

/// <summary>The C-heap trim after generations: off at zero, at most once per interval, and the settings that drive it.</summary>
public sealed class NativeHeapTests
{
    [Fact]
    public void A_zero_interval_never_trims()
    {
        Assert.False(NativeHeap.TrimIfDue(TimeSpan.Zero));
    }

    [Fact]
    public void It_trims_when_due_and_not_again_within_the_interval()
    {
        Assert.Equal(OperatingSystem.IsLinux(), NativeHeap.TrimIfDue(TimeSpan.FromTicks(1)));
        Assert.False(NativeHeap.TrimIfDue(TimeSpan.FromHours(1)));
    }

    [Fact]
    public void Defaults_turn_the_arena_off_and_trim_every_10_s_and_a_negative_interval_is_refused()
    {
        var options = new InferenceOptions();
        Assert.False(options.EnableCpuMemArena);
        Assert.Equal(TimeSpan.FromSeconds(10), options.NativeHeapTrimInterval);
        Assert.Throws<ArgumentOutOfRangeException>(() => new InferenceOptions { NativeHeapTrimInterval = TimeSpan.FromSeconds(-1) }.Validate());
    }
}
