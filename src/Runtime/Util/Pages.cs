using System.Runtime.CompilerServices;
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

    /// <summary>Advises [<paramref name="start"/>, start + <paramref name="length"/>) for 2 MiB pages
    /// (<see cref="MadvHugePage"/>); a system without madvise(2) is left as it is (only speed depends on it).</summary>
    internal static void AdviseHugePages(nint start, nuint length)
    {
        try { Madvise(start, length, MadvHugePage); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

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

    /// <summary>
    /// As <see cref="Zeroed{T}"/>, but pinned and, below <see cref="LargeObjectBytes"/>, starting at a 64-byte
    /// boundary (a cache line) unless 16 tries all missed (the layout is the runtime's). A step's values split
    /// between two threads at multiples of 16 floats (the products' 32-column panels, the loops' tiles, the batch's
    /// rows); in an array that starts mid-line, each split point shares a line between the two cores, and every row
    /// of a column split does: a 64×256 activation split at column 128 has 64 such lines, written by both cores each
    /// step. On this project's 2-vCPU machines writing a line the other core holds costs ~30× an unshared write
    /// (bench/tools/crosscore.c). The 784-256-10 step at batch 64 on two threads: 1.036–1.067× faster with aligned
    /// buffers, the 784-1024×3-10 step at batch 256 1.013–1.045× (`bench threads --ab=align`, issue #18); again
    /// 1.040× / 0.997× in the eleventh session, the `mlp` job's two-thread training 0.310 → 0.296 s (vCPUs far).
    /// Pinned arrays share the pinned heap's regions: large data kept there (it was, for huge pages) is held by them
    /// after it is freed, so <see cref="Data.HugePages"/> allocates on the large object heap (mnist_mlp's peak: 102 MB
    /// unaligned, 126 MB aligned with the data pinned, 110 MB aligned with it not).
    /// </summary>
    public static T[] ZeroedAligned<T>(long count) where T : unmanaged
    {
        if (!AlignOn) return Zeroed<T>(count);
        var array = UninitializedAligned<T>(count);
        array.AsSpan().Clear();
        return array;
    }

    /// <summary>As <see cref="ZeroedAligned{T}"/>, not cleared (the caller writes every element).</summary>
    public static unsafe T[] UninitializedAligned<T>(long count) where T : unmanaged
    {
        if (!AlignOn) return Uninitialized<T>(count);
        // The runtime offers no alignment for arrays. Pinned ones are never moved and, allocated in a row, follow
        // each other in memory (an array's data 24 bytes into its object, objects in multiples of 8 bytes), so after a
        // miss a pinned filler sized to put the next array's data on a line mostly finds one on the next try; every
        // other try a larger filler moves on. Where the runtime fills a free space instead the try lands anywhere
        // (~80 % on a line among many allocations of other sizes, all 13 slots under 85 kB of the mnist_mlp job's
        // step). An array of the large object heap's size starts at the same offset into its own region every time
        // (24 bytes into a line on .NET 10): one try; a shared line at each split point of those is what it costs.
        int tries = (long)count * sizeof(T) < LargeObjectBytes ? 16 : 1;
        T[] array = [];
        for (int attempt = 0; attempt < tries; attempt++)
        {
            array = GC.AllocateUninitializedArray<T>(checked((int)count), pinned: true);
            long data = (long)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
            if (data % LineBytes == 0 || attempt == tries - 1) break;
            long end = data - 24 + ((24 + count * sizeof(T) + 7) & ~7L);
            long filler = ((-end - 24) % LineBytes + LineBytes) % LineBytes;
            if (filler < 24) filler += LineBytes;
            int skip = attempt % 2 == 1 ? LineBytes * 8 * (attempt / 2 + 1) : 0;
            GC.KeepAlive(GC.AllocateUninitializedArray<byte>((int)(filler - 24) + skip, pinned: true));
        }
        Populate(array.AsSpan());
        return array;
    }

    /// <summary>A step's zeroed buffer for kernels split over <paramref name="threads"/> threads: on a cache line
    /// (<see cref="ZeroedAligned{T}"/>) when they split, else an ordinary array (one thread shares no lines, and the
    /// pinned tries cost `nn predict --threads 1` ~4 ms).</summary>
    public static T[] ZeroedForThreads<T>(long count, int threads) where T : unmanaged =>
        threads > 1 ? ZeroedAligned<T>(count) : Zeroed<T>(count);

    /// <summary>As <see cref="ZeroedForThreads{T}"/>, not cleared (the caller writes every element).</summary>
    public static T[] UninitializedForThreads<T>(long count, int threads) where T : unmanaged =>
        threads > 1 ? UninitializedAligned<T>(count) : Uninitialized<T>(count);

    /// <summary>From this size the runtime places an array on its large object heap.</summary>
    internal const long LargeObjectBytes = 85_000;

    /// <summary>Whether <see cref="ZeroedAligned{T}"/> aligns (true; false allocates as <see cref="Zeroed{T}"/> does,
    /// for A/B benchmarks).</summary>
    internal static bool AlignOn = true;

    /// <summary>A cache line.</summary>
    internal const int LineBytes = 64;

    /// <summary>Whether <paramref name="array"/>'s first element sits at a cache-line boundary.</summary>
    internal static unsafe bool LineAligned<T>(T[] array) where T : unmanaged =>
        (long)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array)) % LineBytes == 0;

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
