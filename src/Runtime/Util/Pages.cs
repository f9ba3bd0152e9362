using System.Runtime.InteropServices;

namespace Nn.Runtime.Util;

/// <summary>
/// New arrays whose memory pages are mapped in one system call before they are first written (Linux 5.14+:
/// <c>madvise(MADV_POPULATE_WRITE)</c>) instead of one page fault per 4 KiB page as a loop first touches them. On the
/// virtual machines this project runs on (`bench/tools/pagefaults.c`), a page fault cost ~10 µs, populating ~0.7 µs a
/// page and the first touch of a populated page still ~4.5 µs (the hypervisor's own page tables): about half the cost
/// of mapping memory; `nn predict` took ~5,800 faults, ~58 ms of CPU over its threads (issue #18). Only a hint:
/// elsewhere, on an older kernel, or when the call is refused, the pages are mapped as they are touched, as before,
/// and nothing but speed depends on it.
/// </summary>
internal static class Pages
{
    private const int MadvPopulateWrite = 23; // MADV_POPULATE_WRITE of <sys/mman.h> (Linux 5.14)

    /// <summary>Arrays smaller than this are left alone: a few pages fault about as fast as a system call.</summary>
    private const long Smallest = 16 << 10;

    /// <summary>Cleared when the system refuses the advice (an older kernel), so it is asked at most once.</summary>
    private static volatile bool _supported = OperatingSystem.IsLinux();

    /// <summary>Whether pages are populated here (false after the system refused once).</summary>
    public static bool Supported => _supported;

    /// <summary>MADV_HUGEPAGE of &lt;sys/mman.h&gt;: back the range with 2 MiB pages where the system offers them
    /// (<see cref="HeapPages"/>, <see cref="Data.HugePages"/>).</summary>
    internal const int MadvHugePage = 14;

    /// <summary>madvise(2), the one declaration of it here (0 when the advice was taken).</summary>
    [DllImport("libc", EntryPoint = "madvise", SetLastError = true)]
    internal static extern int Madvise(nint address, nuint length, int advice);

    /// <summary>A new array of <paramref name="count"/> zeros, its pages mapped.</summary>
    public static T[] Zeroed<T>(long count) where T : unmanaged
    {
        if (count * Marshal.SizeOf<T>() < Smallest || !_supported) return new T[count];
        var array = GC.AllocateUninitializedArray<T>(checked((int)count));
        Populate(array.AsSpan());
        array.AsSpan().Clear(); // the memory may be the collector's, holding old values
        return array;
    }

    /// <summary>A new array of <paramref name="count"/> elements, not cleared (the caller writes every one), its pages
    /// mapped.</summary>
    public static T[] Uninitialized<T>(long count) where T : unmanaged
    {
        var array = GC.AllocateUninitializedArray<T>(checked((int)count));
        Populate(array.AsSpan());
        return array;
    }

    /// <summary>Maps the pages that hold <paramref name="span"/> (pinned for the call) where they are not mapped yet.
    /// The pages at either end are mapped whole: they hold this memory, so they belong to the process.</summary>
    public static unsafe void Populate<T>(Span<T> span) where T : unmanaged
    {
        long bytes = (long)span.Length * sizeof(T);
        if (bytes < Smallest || !_supported) return;
        long page = Environment.SystemPageSize;
        fixed (T* p = span)
        {
            long start = (long)p & ~(page - 1);
            long end = ((long)p + bytes + page - 1) & ~(page - 1);
            try
            {
                if (Madvise((nint)start, (nuint)(end - start), MadvPopulateWrite) != 0
                    && Marshal.GetLastPInvokeError() is 22 or 38) // EINVAL, ENOSYS: a kernel without the advice
                    _supported = false;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                _supported = false;
            }
        }
    }
}
