using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Nn.Runtime.Engine.Planning;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.Engine.Codegen;

/// <summary>Binds a <see cref="GemmKernel"/> to the packed GEMM; tiny products, where packing costs more than the
/// arithmetic, run as a direct loop with the same epilogue, and narrow ones (at most <see cref="NarrowColumns"/>
/// columns: a classifier's logits and its weight gradient) as row-vector products (<see cref="Narrow"/>).</summary>
internal static class GemmKernels
{
    /// <summary>Below this many multiply-adds a product runs as a plain loop (no packing, no dispatch).</summary>
    public const long SmallProduct = 4096;

    /// <summary>Products at most this many columns wide skip packing (<see cref="Narrow"/>): the packed kernel's
    /// tiles would be mostly padding.</summary>
    public const int NarrowColumns = 16;

    public static Action Build(GemmKernel g, BindContext c)
    {
        var S = c.Slots;
        int[] sa = c.Shape(g.A), sb = c.Shape(g.B), so = c.Shape(g.MatMul);
        bool shared = sb.Length == 2;
        int m, k, n, lda, ldb;
        if (g.TransA) { k = sa[^2]; m = sa[^1]; lda = m; }
        else { k = sa[^1]; m = shared ? NodeKernels.Count(sa) / Math.Max(k, 1) : sa[^2]; lda = k; }
        if (k == 0) m = shared ? NodeKernels.Count(so) / Math.Max(so[^1], 1) : so[^2];
        if (g.TransB) { n = sb[^2]; ldb = k; } else { n = sb[^1]; ldb = n; }
        int batches = shared ? 1 : NodeKernels.Count(so) / Math.Max(m * n, 1);
        int aLen = m * k, bLen = k * n, cLen = m * n;
        int ia = c.Slot(g.A), ib = c.Slot(g.B), ic = c.Slot(g.Output), ibias = g.Bias is null ? -1 : c.Slot(g.Bias);
        bool ta = g.TransA, tb = g.TransB, small = (long)m * n * k <= SmallProduct;
        var act = g.Activation;
        int threads = c.Threads;
        bool narrow = !small && Vector512.IsHardwareAccelerated && n <= NarrowColumns;
        var bRows = narrow ? new float[(long)k * 16] : []; // op(B) as k zero-padded vectors: allocated here once, filled per product
        return () =>
        {
            float[] A = S[ia], B = S[ib], C = S[ic];
            var bias = ibias < 0 ? ReadOnlySpan<float>.Empty : S[ibias].AsSpan(0, n);
            for (int t = 0; t < batches; t++)
            {
                var a = A.AsSpan(t * aLen, aLen); var b = B.AsSpan(shared ? 0 : t * bLen, bLen); var cc = C.AsSpan(t * cLen, cLen);
                if (small) Direct(ta, tb, m, n, k, a, lda, b, ldb, cc, bias, act);
                else if (narrow) Narrow(ta, tb, m, n, k, a, lda, b, ldb, cc, bias, act, bRows);
                else Gemm.Multiply(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, cc, n, bias, act, threads);
            }
        };
    }

    /// <summary>
    /// C = act(op(A)·op(B) + bias) for n ≤ 16 as row-vector products: op(B) is copied once into k zero-padded rows of
    /// one vector, then each group of eight rows of C accumulates op(A)[i, p]·op(B)[p, :] over p in eight independent
    /// registers and is stored once. No packing of A and no 32-wide tiles that would be mostly padding. With a
    /// transposed A (a weight gradient), whose rows of C are contiguous in A, vectorized over those rows instead
    /// (<see cref="GemmNarrow.TransposedA"/>; the same sums in the same order).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Narrow(bool ta, bool tb, int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, ReadOnlySpan<float> bias, Activation act, float[] bRows)
    {
        for (int p = 0; p < k; p++)
        {
            var row = bRows.AsSpan(p * 16, 16);
            if (tb) for (int j = 0; j < n; j++) row[j] = b[j * ldb + p];
            else b.Slice(p * ldb, n).CopyTo(row);
            row[n..].Clear();
        }
        if (ta && m >= 16)
        {
            // A weight gradient xᵀ @ dy: vectorized over the rows of C, which are contiguous in x (GemmNarrow.TransposedA).
            fixed (float* pa0 = a, pb0 = bRows, pc0 = c) GemmNarrow.TransposedA(m, n, k, pa0, lda, pb0, pc0, n);
            if (!bias.IsEmpty || act != Activation.Identity)
                for (int i = 0; i < m; i++) Finish(c.Slice(i * n, n), bias, act);
            return;
        }
        ref float pb = ref MemoryMarshal.GetArrayDataReference(bRows);
        ref float pa = ref MemoryMarshal.GetReference(a);
        nint sp = ta ? lda : 1, si = ta ? 1 : lda; // A(i, p) = a[i·si + p·sp]
        Span<float> out8 = stackalloc float[8 * 16];
        for (int i = 0; i < m; i += 8)
        {
            int rows = Math.Min(8, m - i);
            ref float r0 = ref Unsafe.Add(ref pa, i * si);
            ref float r1 = ref Unsafe.Add(ref pa, Math.Min(i + 1, m - 1) * si);
            ref float r2 = ref Unsafe.Add(ref pa, Math.Min(i + 2, m - 1) * si);
            ref float r3 = ref Unsafe.Add(ref pa, Math.Min(i + 3, m - 1) * si);
            ref float r4 = ref Unsafe.Add(ref pa, Math.Min(i + 4, m - 1) * si);
            ref float r5 = ref Unsafe.Add(ref pa, Math.Min(i + 5, m - 1) * si);
            ref float r6 = ref Unsafe.Add(ref pa, Math.Min(i + 6, m - 1) * si);
            ref float r7 = ref Unsafe.Add(ref pa, Math.Min(i + 7, m - 1) * si);
            Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
            nint ap = 0;
            for (int p = 0; p < k; p++, ap += sp)
            {
                var bv = Vector512.LoadUnsafe(ref pb, (nuint)(p * 16));
                c0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref r0, ap)), bv, c0);
                c1 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref r1, ap)), bv, c1);
                c2 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref r2, ap)), bv, c2);
                c3 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref r3, ap)), bv, c3);
                c4 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref r4, ap)), bv, c4);
                c5 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref r5, ap)), bv, c5);
                c6 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref r6, ap)), bv, c6);
                c7 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref r7, ap)), bv, c7);
            }
            c0.CopyTo(out8); c1.CopyTo(out8[16..]); c2.CopyTo(out8[32..]); c3.CopyTo(out8[48..]);
            c4.CopyTo(out8[64..]); c5.CopyTo(out8[80..]); c6.CopyTo(out8[96..]); c7.CopyTo(out8[112..]);
            for (int r = 0; r < rows; r++)
            {
                var row = c.Slice((i + r) * n, n);
                out8.Slice(r * 16, n).CopyTo(row);
                Finish(row, bias, act);
            }
        }
    }

    private static void Finish(Span<float> row, ReadOnlySpan<float> bias, Activation act)
    {
        if (!bias.IsEmpty) Elementwise.Binary<AddOp>(row, bias, row);
        switch (act)
        {
            case Activation.Relu: Elementwise.Unary<ReluOp>(row, row); break;
            case Activation.Tanh: Elementwise.Unary<TanhOp>(row, row); break;
            case Activation.Sigmoid: Elementwise.Unary<SigmoidOp>(row, row); break;
        }
    }

    private static void Direct(bool ta, bool tb, int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, ReadOnlySpan<float> bias, Activation act)
    {
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * n, n);
            for (int j = 0; j < n; j++)
            {
                float s = 0f;
                for (int p = 0; p < k; p++) s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
                row[j] = s;
            }
            Finish(row, bias, act);
        }
    }
}
