using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>
/// Generic elementwise drivers: the loop (16-lane blocks unrolled by four, then 16, 8 and scalar remainders)
/// is written once here and instantiated per operator struct, so an operator — or a fused chain built with
/// <see cref="Compose{TOuter, TInner}"/> and <see cref="Then{TFirst, TThen}"/> — costs one pass over memory.
/// The destination may be the same memory as an input (in-place); partial overlap is not supported.
/// A call that moves at least <see cref="NonTemporalThreshold"/> bytes writes its output with non-temporal
/// (streaming) stores, which skip the read-for-ownership of each destination line (see Streaming.cs).
/// </summary>
internal static partial class Elementwise
{
    /// <summary>dst[i] = TOp(x[i]) for i &lt; x.Length.</summary>
    public static void Unary<TOp>(ReadOnlySpan<float> x, Span<float> dst) where TOp : struct, IUnaryOp =>
        Unary<TOp>(x, dst, Streams(2L * x.Length));

    /// <summary>dst[i] = TOp(x[i], y[i]) for i &lt; x.Length (y must be at least as long as x).</summary>
    public static void Binary<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dst)
        where TOp : struct, IBinaryOp =>
        Binary<TOp>(x, y, dst, Streams(3L * x.Length));

    /// <summary>dst[i] = TOp(x[i], s): a binary operator with a scalar second operand (also leakyRelu's and elu's
    /// parameter).</summary>
    public static void BinaryScalar<TOp>(ReadOnlySpan<float> x, float s, Span<float> dst)
        where TOp : struct, IBinaryOp =>
        BinaryScalar<TOp>(x, s, dst, Streams(2L * x.Length));

    /// <summary>dst[i] = TOp(s, x[i]): a binary operator with a scalar first operand (e.g. 1 − x).</summary>
    public static void ScalarBinary<TOp>(float s, ReadOnlySpan<float> x, Span<float> dst)
        where TOp : struct, IBinaryOp =>
        ScalarBinary<TOp>(s, x, dst, Streams(2L * x.Length));

    /// <summary><see cref="Unary{TOp}(ReadOnlySpan{float}, Span{float})"/> with the stores chosen by the caller:
    /// streaming (non-temporal, fenced before returning) or ordinary.</summary>
    internal static void Unary<TOp>(ReadOnlySpan<float> x, Span<float> dst, bool streaming) where TOp : struct, IUnaryOp
    {
        KernelThrow.CheckLength(nameof(dst), x.Length, dst.Length);
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float rd = ref MemoryMarshal.GetReference(dst);
        if (streaming) { UnaryStreaming<TOp>(ref rx, ref rd, (nuint)x.Length); StoreFence(); }
        else UnaryCore<TOp, Temporal>(ref rx, ref rd, (nuint)x.Length);
    }

    /// <summary><see cref="Binary{TOp}(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/> with the stores chosen
    /// by the caller.</summary>
    internal static void Binary<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dst, bool streaming)
        where TOp : struct, IBinaryOp
    {
        KernelThrow.CheckLength(nameof(y), x.Length, y.Length);
        KernelThrow.CheckLength(nameof(dst), x.Length, dst.Length);
        Binary<TOp, Many, Many>(ref MemoryMarshal.GetReference(x), ref MemoryMarshal.GetReference(y),
            ref MemoryMarshal.GetReference(dst), (nuint)x.Length, streaming);
    }

    /// <summary><see cref="BinaryScalar{TOp}(ReadOnlySpan{float}, float, Span{float})"/> with the stores chosen by the
    /// caller.</summary>
    internal static void BinaryScalar<TOp>(ReadOnlySpan<float> x, float s, Span<float> dst, bool streaming)
        where TOp : struct, IBinaryOp
    {
        KernelThrow.CheckLength(nameof(dst), x.Length, dst.Length);
        Binary<TOp, Many, One>(ref MemoryMarshal.GetReference(x), ref s, ref MemoryMarshal.GetReference(dst),
            (nuint)x.Length, streaming);
    }

    /// <summary><see cref="ScalarBinary{TOp}(float, ReadOnlySpan{float}, Span{float})"/> with the stores chosen by the
    /// caller.</summary>
    internal static void ScalarBinary<TOp>(float s, ReadOnlySpan<float> x, Span<float> dst, bool streaming)
        where TOp : struct, IBinaryOp
    {
        KernelThrow.CheckLength(nameof(dst), x.Length, dst.Length);
        Binary<TOp, One, Many>(ref s, ref MemoryMarshal.GetReference(x), ref MemoryMarshal.GetReference(dst),
            (nuint)x.Length, streaming);
    }

    private static void Binary<TOp, TX, TY>(ref float x, ref float y, ref float d, nuint n, bool streaming)
        where TOp : struct, IBinaryOp where TX : struct, IOperand where TY : struct, IOperand
    {
        if (streaming) { BinaryStreaming<TOp, TX, TY>(ref x, ref y, ref d, n); StoreFence(); }
        else BinaryCore<TOp, TX, TY, Temporal>(ref x, ref y, ref d, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void UnaryCore<TOp, TS>(ref float x, ref float d, nuint n)
        where TOp : struct, IUnaryOp where TS : struct, IStore
    {
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 64 <= n; i += 64)
            {
                var a0 = TOp.Invoke(Vector512.LoadUnsafe(ref x, i));
                var a1 = TOp.Invoke(Vector512.LoadUnsafe(ref x, i + 16));
                var a2 = TOp.Invoke(Vector512.LoadUnsafe(ref x, i + 32));
                var a3 = TOp.Invoke(Vector512.LoadUnsafe(ref x, i + 48));
                TS.Store(a0, ref d, i); TS.Store(a1, ref d, i + 16);
                TS.Store(a2, ref d, i + 32); TS.Store(a3, ref d, i + 48);
            }
            for (; i + 16 <= n; i += 16) TS.Store(TOp.Invoke(Vector512.LoadUnsafe(ref x, i)), ref d, i);
        }
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) TS.Store(TOp.Invoke(Vector256.LoadUnsafe(ref x, i)), ref d, i);
        for (; i < n; i++) Unsafe.Add(ref d, i) = TOp.Invoke(Unsafe.Add(ref x, i));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void BinaryCore<TOp, TX, TY, TS>(ref float x, ref float y, ref float d, nuint n)
        where TOp : struct, IBinaryOp where TX : struct, IOperand where TY : struct, IOperand where TS : struct, IStore
    {
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 64 <= n; i += 64)
            {
                var a0 = TOp.Invoke(TX.Load512(ref x, i), TY.Load512(ref y, i));
                var a1 = TOp.Invoke(TX.Load512(ref x, i + 16), TY.Load512(ref y, i + 16));
                var a2 = TOp.Invoke(TX.Load512(ref x, i + 32), TY.Load512(ref y, i + 32));
                var a3 = TOp.Invoke(TX.Load512(ref x, i + 48), TY.Load512(ref y, i + 48));
                TS.Store(a0, ref d, i); TS.Store(a1, ref d, i + 16);
                TS.Store(a2, ref d, i + 32); TS.Store(a3, ref d, i + 48);
            }
            for (; i + 16 <= n; i += 16) TS.Store(TOp.Invoke(TX.Load512(ref x, i), TY.Load512(ref y, i)), ref d, i);
        }
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) TS.Store(TOp.Invoke(TX.Load256(ref x, i), TY.Load256(ref y, i)), ref d, i);
        for (; i < n; i++) Unsafe.Add(ref d, i) = TOp.Invoke(TX.Load(ref x, i), TY.Load(ref y, i));
    }

    /// <summary>How a driver reads an operand: an array of values or one value broadcast to every lane.</summary>
    internal interface IOperand
    {
        static abstract float Load(ref float p, nuint i);
        static abstract Vector512<float> Load512(ref float p, nuint i);
        static abstract Vector256<float> Load256(ref float p, nuint i);
        /// <summary>The operand from element <paramref name="i"/> on (a broadcast value does not move).</summary>
        static abstract ref float From(ref float p, nuint i);
    }

    internal readonly struct Many : IOperand
    {
        public static float Load(ref float p, nuint i) => Unsafe.Add(ref p, i);
        public static Vector512<float> Load512(ref float p, nuint i) => Vector512.LoadUnsafe(ref p, i);
        public static Vector256<float> Load256(ref float p, nuint i) => Vector256.LoadUnsafe(ref p, i);
        public static ref float From(ref float p, nuint i) => ref Unsafe.Add(ref p, i);
    }

    internal readonly struct One : IOperand
    {
        public static float Load(ref float p, nuint i) => p;
        public static Vector512<float> Load512(ref float p, nuint i) => Vector512.Create(p);
        public static Vector256<float> Load256(ref float p, nuint i) => Vector256.Create(p);
        public static ref float From(ref float p, nuint i) => ref p;
    }
}
