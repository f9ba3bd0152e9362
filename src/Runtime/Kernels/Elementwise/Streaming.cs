using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nn.Runtime.Kernels;

/// <summary>How a driver writes a vector of results.</summary>
internal interface IStore
{
    static abstract void Store(Vector512<float> v, ref float d, nuint i);
    static abstract void Store(Vector256<float> v, ref float d, nuint i);
}

/// <summary>Ordinary stores: the destination line is read into the cache first
/// (read-for-ownership), then written.</summary>
internal readonly struct Temporal : IStore
{
    public static void Store(Vector512<float> v, ref float d, nuint i) => v.StoreUnsafe(ref d, i);
    public static void Store(Vector256<float> v, ref float d, nuint i) => v.StoreUnsafe(ref d, i);
}

/// <summary>
/// Non-temporal stores of whole aligned vectors (a 512-bit one fills a 64-byte line): written around the cache,
/// without reading the line first. The caller pins the destination and aligns element <c>i</c> to 64 bytes.
/// </summary>
internal readonly unsafe struct NonTemporal : IStore
{
    public static void Store(Vector512<float> v, ref float d, nuint i) =>
        Avx512F.StoreAlignedNonTemporal((float*)Unsafe.AsPointer(ref Unsafe.Add(ref d, i)), v);
    public static void Store(Vector256<float> v, ref float d, nuint i) =>
        Avx.StoreAlignedNonTemporal((float*)Unsafe.AsPointer(ref Unsafe.Add(ref d, i)), v);
}

internal static partial class Elementwise
{
    /// <summary>
    /// Calls that move at least this many bytes (reads plus writes) store their output non-temporally: a streamed
    /// output does not fit in the last-level cache anyway, and skipping the read-for-ownership of every destination
    /// line saves a third of a binary kernel's memory traffic. Below it ordinary stores keep the output in cache for
    /// the next kernel. 16 MiB is where streaming stopped losing on the development machine
    /// (bench/ElementwiseBench.cs). Settable (benchmarks compare both ways);
    /// <see cref="long.MaxValue"/> turns streaming off.
    /// </summary>
    public static long NonTemporalThreshold { get; set; } = 16L << 20;

    /// <summary>True when this machine has non-temporal vector stores (x86 with AVX or AVX-512).</summary>
    internal static bool CanStream => Sse.IsSupported
        && (Vector512.IsHardwareAccelerated ? Avx512F.IsSupported : Vector256.IsHardwareAccelerated && Avx.IsSupported);

    /// <summary>True when a call moving <paramref name="floatsMoved"/> floats should stream its output.</summary>
    internal static bool Streams(long floatsMoved) => CanStream && floatsMoved * sizeof(float) >= NonTemporalThreshold;

    /// <summary>Copies <paramref name="src"/> into <paramref name="dst"/> (of the same length) with non-temporal
    /// stores (<see cref="UnaryStreaming{TOp}"/>); the caller orders them with <see cref="StoreFence"/> before another
    /// thread reads <paramref name="dst"/>.</summary>
    public static void CopyStreaming(ReadOnlySpan<float> src, Span<float> dst)
    {
        KernelThrow.CheckLength(nameof(dst), src.Length, dst.Length);
        UnaryStreaming<IdentityOp>(ref MemoryMarshal.GetReference(src), ref MemoryMarshal.GetReference(dst),
            (nuint)src.Length);
    }

    /// <summary>Orders the non-temporal stores before any later store (they are weakly
    /// ordered); a no-op elsewhere.</summary>
    internal static void StoreFence()
    {
        if (Sse.IsSupported) Sse.StoreFence();
    }

    /// <summary>
    /// d[i] = TOp(x[i]) with non-temporal stores for the 64-byte-aligned whole vectors of d. The unaligned head and
    /// the tail are whole vectors too, at 0 and at n − 16, computed from inputs loaded before anything is stored (so
    /// d may be x) and stored after the streamed middle with masked stores of only the lanes it left (an ordinary store
    /// into a line just streamed would wait for the line to reach memory and read it back): every element
    /// goes through the vector form whatever d's alignment, so results do not depend on where the arrays sit.
    /// Does not fence: call <see cref="StoreFence"/> before the output is handed on. Below 16 elements, where the
    /// machine cannot stream or where d is not float-aligned, it runs the ordinary driver.
    /// </summary>
    internal static unsafe void UnaryStreaming<TOp>(ref float x, ref float d, nuint n) where TOp : struct, IUnaryOp
    {
        fixed (float* p = &d)
        {
            if (n < 16 || !CanStream || ((nuint)p & 3) != 0) { UnaryCore<TOp, Temporal>(ref x, ref d, n); return; }
            nuint head = ((64 - ((nuint)p & 63)) & 63) / sizeof(float), mid = (n - head) & ~(nuint)15, last = n - 16;
            if (Vector512.IsHardwareAccelerated)
            {
                Vector512<float> x0 = Vector512.LoadUnsafe(ref x), xt = Vector512.LoadUnsafe(ref x, last);
                UnaryCore<TOp, NonTemporal>(ref Unsafe.Add(ref x, head), ref Unsafe.Add(ref d, head), mid);
                Edges(p, TOp.Invoke(x0), TOp.Invoke(xt), head, head + mid - last, last);
            }
            else
            {
                Vector256<float> x0 = Vector256.LoadUnsafe(ref x), x1 = Vector256.LoadUnsafe(ref x, 8);
                Vector256<float> xt0 = Vector256.LoadUnsafe(ref x, last), xt1 = Vector256.LoadUnsafe(ref x, last + 8);
                UnaryCore<TOp, NonTemporal>(ref Unsafe.Add(ref x, head), ref Unsafe.Add(ref d, head), mid);
                Edges(p, TOp.Invoke(x0), TOp.Invoke(x1), TOp.Invoke(xt0), TOp.Invoke(xt1), head, head + mid - last,
                    last);
            }
        }
    }

    /// <summary>d[i] = TOp(x[i], y[i]) with non-temporal stores; see <see cref="UnaryStreaming{TOp}"/>.</summary>
    internal static unsafe void BinaryStreaming<TOp, TX, TY>(ref float x, ref float y, ref float d, nuint n)
        where TOp : struct, IBinaryOp where TX : struct, IOperand where TY : struct, IOperand
    {
        fixed (float* p = &d)
        {
            if (n < 16 || !CanStream || ((nuint)p & 3) != 0)
            {
                BinaryCore<TOp, TX, TY, Temporal>(ref x, ref y, ref d, n);
                return;
            }
            nuint head = ((64 - ((nuint)p & 63)) & 63) / sizeof(float), mid = (n - head) & ~(nuint)15, last = n - 16;
            if (Vector512.IsHardwareAccelerated)
            {
                Vector512<float> x0 = TX.Load512(ref x, 0), y0 = TY.Load512(ref y, 0);
                Vector512<float> xt = TX.Load512(ref x, last), yt = TY.Load512(ref y, last);
                BinaryCore<TOp, TX, TY, NonTemporal>(ref TX.From(ref x, head), ref TY.From(ref y, head),
                    ref Unsafe.Add(ref d, head), mid);
                Edges(p, TOp.Invoke(x0, y0), TOp.Invoke(xt, yt), head, head + mid - last, last);
            }
            else
            {
                Vector256<float> x0 = TX.Load256(ref x, 0), y0 = TY.Load256(ref y, 0),
                    x1 = TX.Load256(ref x, 8), y1 = TY.Load256(ref y, 8);
                Vector256<float> xt0 = TX.Load256(ref x, last), yt0 = TY.Load256(ref y, last);
                Vector256<float> xt1 = TX.Load256(ref x, last + 8), yt1 = TY.Load256(ref y, last + 8);
                BinaryCore<TOp, TX, TY, NonTemporal>(ref TX.From(ref x, head), ref TY.From(ref y, head),
                    ref Unsafe.Add(ref d, head), mid);
                Edges(p, TOp.Invoke(x0, y0), TOp.Invoke(x1, y1), TOp.Invoke(xt0, yt0), TOp.Invoke(xt1, yt1), head,
                    head + mid - last, last);
            }
        }
    }

    /// <summary>Stores lanes [0, head) of h at p and lanes [from, 16) of t at p + last (the streamed
    /// middle lies between).</summary>
    private static unsafe void Edges(float* p, Vector512<float> h, Vector512<float> t, nuint head, nuint from,
        nuint last)
    {
        var lane = Vector512<int>.Indices;
        if (head != 0) Avx512F.MaskStore(p, Vector512.LessThan(lane, Vector512.Create((int)head)).AsSingle(), h);
        if (from < 16)
            Avx512F.MaskStore(p + last, Vector512.GreaterThanOrEqual(lane, Vector512.Create((int)from)).AsSingle(), t);
    }

    /// <summary>The 8-lane form of
    /// <see cref="Edges(float*, Vector512{float}, Vector512{float}, nuint, nuint, nuint)"/>: h0, h1 cover elements
    /// 0..15, t0, t1 elements last..last+15.</summary>
    private static unsafe void Edges(float* p, Vector256<float> h0, Vector256<float> h1, Vector256<float> t0,
        Vector256<float> t1, nuint head, nuint from, nuint last)
    {
        var lane = Vector256<int>.Indices;
        var h = Vector256.Create((int)head);
        var f = Vector256.Create((int)from);
        var eight = Vector256.Create(8);
        Avx.MaskStore(p, Vector256.LessThan(lane, h).AsSingle(), h0);
        Avx.MaskStore(p + 8, Vector256.LessThan(lane + eight, h).AsSingle(), h1);
        Avx.MaskStore(p + last, Vector256.GreaterThanOrEqual(lane, f).AsSingle(), t0);
        Avx.MaskStore(p + last + 8, Vector256.GreaterThanOrEqual(lane + eight, f).AsSingle(), t1);
    }
}
