using System.Runtime.InteropServices;
using Nn.Runtime.Util;

namespace Nn.Runtime.Data;

/// <summary>
/// Large arrays of data backed by 2 MiB pages where Linux offers them on request (transparent huge pages in the
/// `madvise` mode, the default of many distributions): one page fault maps 2 MiB instead of 4 KiB, and the process
/// unmaps the memory at exit 6–7 times faster (issue #18: tearing down the 31 MB of the MNIST digits in 4 KiB pages
/// took ~3 ms of the `mlp` job's wall time after its last line was printed). Elsewhere, or when the advice is
/// refused, the array is an ordinary one: nothing but speed depends on it.
/// </summary>
internal static class HugePages
{
    private const int Size = 2 << 20;

    /// <summary>A new array of <paramref name="count"/> elements, not cleared: the caller writes every one.
    /// On the large object heap, which the collector leaves in place (it compacts it only when fragmentation is high,
    /// and then the advice is lost, nothing else), not the pinned heap: a training step's pinned buffers
    /// (<see cref="Pages.ZeroedAligned{T}"/>) would then share the data's region there and keep it (30 MB of the
    /// MNIST digits after the training rows were copied out of them, issue #18).</summary>
    public static T[] Uninitialized<T>(int count) where T : unmanaged
    {
        long bytes = (long)count * Marshal.SizeOf<T>();
        if (bytes < 2L * Size || !OperatingSystem.IsLinux()) return GC.AllocateUninitializedArray<T>(count);
        var array = GC.AllocateUninitializedArray<T>(count);
        Advise(array, bytes);
        return array;
    }

    private static unsafe void Advise<T>(T[] array, long bytes) where T : unmanaged
    {
        fixed (T* p = array)
        {
            long start = ((long)p + Size - 1) & ~(long)(Size - 1);
            long end = ((long)p + bytes) & ~(long)(Size - 1);
            if (end <= start) return;
            Pages.AdviseHugePages((nint)start, (nuint)(end - start));
        }
    }
}
