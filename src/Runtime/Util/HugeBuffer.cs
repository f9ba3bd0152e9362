using System.Runtime.InteropServices;

namespace Nn.Runtime.Util;

/// <summary>
/// Native memory of at least <see cref="Length"/> bytes, not cleared, in 2 MiB pages where Linux offers them on request
/// (transparent huge pages in the `madvise` mode, <see cref="Pages.MadvHugePage"/>): the first write of each 2 MiB maps
/// it in one page fault instead of 512. For a short-lived buffer the caller writes whole, such as the pixels of
/// `curves.png` (900×500 RGBA, 1.8 MB): Skia's own surface memory was ~440 page faults after the last epoch, ~10 ms of
/// every `nn train` on the virtual machines this project runs on (23 µs a fault, `bench/tools/pagefaults.c`; issue
/// #18). Elsewhere, or when the advice is refused, the memory is mapped 4 KiB at a time as before: nothing but speed
/// depends on it. Freed by <see cref="Dispose"/>.
/// </summary>
internal sealed unsafe class HugeBuffer : IDisposable
{
    private const nuint Huge = 2 << 20;
    private void* _p;

    /// <summary>The buffer's first byte.</summary>
    public nint Pointer => (nint)_p;

    /// <summary>Its usable length in bytes (the length asked for).</summary>
    public long Length { get; }

    public HugeBuffer(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        Length = length;
        nuint size = Rounded((nuint)length); // whole 2 MiB pages, so the advice covers all of it
        _p = NativeMemory.AlignedAlloc(size, Huge);
        if (OperatingSystem.IsLinux()) Pages.AdviseHugePages((nint)_p, size);
    }

    /// <summary>The bytes allocated for <paramref name="bytes"/>: whole 2 MiB pages.</summary>
    internal static nuint Rounded(nuint bytes) => (bytes + Huge - 1) & ~(Huge - 1);

    public void Dispose()
    {
        if (_p == null) return;
        NativeMemory.AlignedFree(_p);
        _p = null;
    }
}
