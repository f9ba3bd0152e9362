using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nn.Runtime.Kernels;

/// <summary>
/// A product of one row (<c>x @ w</c> at batch 1, a forward of a single example) as a matrix-vector product: op(B)
/// streamed where it is stored, in panel layout or row-major, up to eight 16-float columns of sums at a time, with
/// no packing of A or B. The packed path would run each 32-column panel as a 1×32 edge tile (two sums, each FMA
/// waiting on the one before) after packing the row into a 14-wide panel, and copy a row-major B into panels on every
/// call. ONNX Runtime's MLAS runs a one-row product as a GEMV too.
/// <para>The arithmetic is the packed path's, so with alpha = 1 (every product of the engine) results are
/// bit-identical: each element of C is the same chain of FMAs over k, split into the same passes
/// (<see cref="MicroKernel.PassDepth"/>) combined the same way (the first alpha·s or alpha·s + beta·C, later ones
/// alpha·s + C, each one FMA), then the same epilogue on the row. With another alpha the packed path's partial-width
/// tiles round alpha·s before adding, so the two may differ in the last bit.</para>
/// </summary>
internal static unsafe class GemmVector
{
    /// <summary>The matrix-vector path on (the default; true sends one-row products to the packed path, for A/B
    /// benchmarks and tests).</summary>
    [ThreadStatic] internal static bool Off;

    /// <summary>Runs <paramref name="p"/> (k ≥ 1, alpha ≠ 0, one thread) and returns true when it is one row of C
    /// over more than 16 columns of an untransposed B (row-major, or in panels), with AVX-512; else returns false.
    /// </summary>
    public static bool TryRun(in GemmProblem p)
    {
        if (Off || p.M != 1 || p.N <= 16 || p.TransB || p.CPanels || p.Update.Active
            || !Avx512F.IsSupported || Gemm.Isa is not (GemmIsa.Auto or GemmIsa.Avx512)) return false;
        int k = p.K, kcMax = p.Kernel.PassDepth(k);
        // op(A) is one row: contiguous, or a column of A (stride lda) copied out
        float* a = p.A;
        if (p.TransA)
        {
            a = GemmWorkspace.For(1, k, 0).A;
            for (int q = 0; q < k; q++) a[q] = p.A[(nint)q * p.Lda];
        }
        for (int pc = 0; pc < k; pc += kcMax)
        {
            int kc = Math.Min(kcMax, k - pc);
            float beta = pc == 0 ? p.Beta : 1f;
            if (p.BPanels) Panels(a + pc, p.B, k, pc, kc, p.N, p.C, p.Alpha, beta);
            else RowMajor<Fused>(a + pc, p.B + (nint)pc * p.Ldb, p.Ldb, kc, p.N, p.C, p.Alpha, beta);
        }
        if (p.Bias != null || p.Activation != Activation.Identity)
            Epilogue.Apply(new Span<float>(p.C, p.N), p.Bias, p.Activation);
        return true;
    }

    /// <summary>c[0..n) = a[0..k)·B[0..k, 0..n) for a row-major B (row stride ldb) in one pass over k: the one-row
    /// form of <see cref="GemmNarrow.RowVectors"/> (the same sums: one FMA chain per element over k in order), with
    /// no copy of B into padded rows. False (nothing done) where AVX-512 is missing or the path is off.</summary>
    public static bool Row(float* a, float* b, nint ldb, int k, int n, float* c)
    {
        if (Off || !Avx512F.IsSupported || Gemm.Isa is not (GemmIsa.Auto or GemmIsa.Avx512)) return false;
        RowMajor<Fused>(a, b, ldb, k, n, c, 1f, 0f);
        return true;
    }

    /// <summary>c[0..n) = Σ_q round(a[q]·B[q, 0..n)) in q order, each product rounded before it is added (no FMA):
    /// the sums of the engine's plain loop for tiny products, vectorized over the columns, so the same bits. False
    /// (nothing done) where AVX-512 is missing or the path is off.</summary>
    public static bool RowSeparate(ReadOnlySpan<float> a, ReadOnlySpan<float> b, int ldb, int k, int n, Span<float> c)
    {
        if (Off || !Avx512F.IsSupported) return false;
        if (k < 0 || n < 0) KernelThrow.Argument(nameof(k), "sizes of at least 0");
        KernelThrow.CheckLength(nameof(a), k, a.Length);
        if (k > 0) KernelThrow.CheckLength(nameof(b), (long)(k - 1) * ldb + n, b.Length);
        KernelThrow.CheckLength(nameof(c), n, c.Length);
        fixed (float* pa = a, pb = b, pc = c) RowMajor<Separate>(pa, pb, ldb, k, n, pc, 1f, 0f);
        return true;
    }

    /// <summary>c[0..n) (+)= a[0..kc)·B[pc..pc+kc, 0..n) for B k×n in panel layout: four panels (128 columns) at a
    /// time, then two, then one.</summary>
    private static void Panels(float* a, float* b, int k, int pc, int kc, int n, float* c, float alpha, float beta)
    {
        nint panel = (nint)k * GemmPanels.Width;
        float* b0 = b + (nint)pc * GemmPanels.Width;
        int j = 0;
        for (; j + 128 <= n; j += 128) PanelBlock<Four>(a, b0 + j / 32 * panel, panel, kc, c + j, alpha, beta);
        if (j + 64 <= n) { PanelBlock<Two>(a, b0 + j / 32 * panel, panel, kc, c + j, alpha, beta); j += 64; }
        if (j < n) PanelBlock<One>(a, b0 + j / 32 * panel, panel, kc, c + j, alpha, beta);
    }

    /// <summary>c[0..n) (+)= a[0..kc)·B[0..kc, 0..n) for B row-major (row stride ldb): 128 columns at a time, the last
    /// block's last 16-float column masked.</summary>
    private static void RowMajor<M>(float* a, float* b, nint ldb, int kc, int n, float* c, float alpha, float beta)
        where M : struct, IMulAdd
    {
        for (int j = 0; j < n; j += 128)
        {
            int cols = Math.Min(128, n - j), vectors = (cols + 15) / 16;
            var mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(cols - (vectors - 1) * 16))
                .AsSingle();
            float* bj = b + j, cj = c + j;
            switch (vectors)
            {
                case 1: RowBlock<One, M>(a, bj, ldb, kc, cj, alpha, beta, mask); break;
                case 2: RowBlock<Two, M>(a, bj, ldb, kc, cj, alpha, beta, mask); break;
                case 3: RowBlock<Three, M>(a, bj, ldb, kc, cj, alpha, beta, mask); break;
                case 4: RowBlock<Four, M>(a, bj, ldb, kc, cj, alpha, beta, mask); break;
                case 5: RowBlock<Five, M>(a, bj, ldb, kc, cj, alpha, beta, mask); break;
                case 6: RowBlock<Six, M>(a, bj, ldb, kc, cj, alpha, beta, mask); break;
                case 7: RowBlock<Seven, M>(a, bj, ldb, kc, cj, alpha, beta, mask); break;
                default: RowBlock<Eight, M>(a, bj, ldb, kc, cj, alpha, beta, mask); break;
            }
        }
    }

    /// <summary>How a sum takes a term: one FMA (the GEMM's kernels) or a rounded product then an add (the engine's
    /// plain loop for tiny products, <c>GemmKernels.Direct</c>).</summary>
    private interface IMulAdd { static abstract Vector512<float> Invoke(Vector512<float> x, Vector512<float> b,
        Vector512<float> s); }
    private struct Fused : IMulAdd
    {
        public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> b, Vector512<float> s) =>
            Vector512.FusedMultiplyAdd(x, b, s);
    }
    private struct Separate : IMulAdd
    {
        public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> b, Vector512<float> s) => s + x * b;
    }

    /// <summary>A compile-time count (the JIT specializes each use, so the unused sums and loads vanish).</summary>
    private interface ICount { static abstract int Value { get; } }
    private struct One : ICount { public static int Value => 1; }
    private struct Two : ICount { public static int Value => 2; }
    private struct Three : ICount { public static int Value => 3; }
    private struct Four : ICount { public static int Value => 4; }
    private struct Five : ICount { public static int Value => 5; }
    private struct Six : ICount { public static int Value => 6; }
    private struct Seven : ICount { public static int Value => 7; }
    private struct Eight : ICount { public static int Value => 8; }

    /// <summary>T panels (2T sums of 16 columns): panel t's kc rows of 32 floats start at b + t·panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PanelBlock<T>(float* a, float* b, nint panel, int kc, float* c, float alpha, float beta)
        where T : struct, ICount
    {
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default,
            s4 = default, s5 = default, s6 = default, s7 = default;
        float* b1 = b + panel, b2 = b + 2 * panel, b3 = b + 3 * panel;
        for (int q = 0; q < kc; q++, b += 32, b1 += 32, b2 += 32, b3 += 32)
        {
            var x = Vector512.Create(a[q]);
            s0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b), s0);
            s1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 16), s1);
            if (T.Value > 1)
            {
                s2 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b1), s2);
                s3 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b1 + 16), s3);
            }
            if (T.Value > 2)
            {
                s4 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b2), s4);
                s5 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b2 + 16), s5);
            }
            if (T.Value > 3)
            {
                s6 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b3), s6);
                s7 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b3 + 16), s7);
            }
        }
        var all = Vector512<float>.AllBitsSet;
        Store(s0, c, alpha, beta, all); Store(s1, c + 16, alpha, beta, all);
        if (T.Value > 1) { Store(s2, c + 32, alpha, beta, all); Store(s3, c + 48, alpha, beta, all); }
        if (T.Value > 2) { Store(s4, c + 64, alpha, beta, all); Store(s5, c + 80, alpha, beta, all); }
        if (T.Value > 3) { Store(s6, c + 96, alpha, beta, all); Store(s7, c + 112, alpha, beta, all); }
    }

    /// <summary>T sums of 16 columns of a row-major B, the last one's columns those in <paramref name="last"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowBlock<T, M>(float* a, float* b, nint ldb, int kc, float* c, float alpha, float beta,
        Vector512<float> last) where T : struct, ICount where M : struct, IMulAdd
    {
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default,
            s4 = default, s5 = default, s6 = default, s7 = default;
        for (int q = 0; q < kc; q++, b += ldb)
        {
            var x = Vector512.Create(a[q]);
            s0 = M.Invoke(x, Load<T>(b, 0, last), s0);
            if (T.Value > 1)
                s1 = M.Invoke(x, Load<T>(b + 16, 1, last), s1);
            if (T.Value > 2)
                s2 = M.Invoke(x, Load<T>(b + 32, 2, last), s2);
            if (T.Value > 3)
                s3 = M.Invoke(x, Load<T>(b + 48, 3, last), s3);
            if (T.Value > 4)
                s4 = M.Invoke(x, Load<T>(b + 64, 4, last), s4);
            if (T.Value > 5)
                s5 = M.Invoke(x, Load<T>(b + 80, 5, last), s5);
            if (T.Value > 6)
                s6 = M.Invoke(x, Load<T>(b + 96, 6, last), s6);
            if (T.Value > 7)
                s7 = M.Invoke(x, Load<T>(b + 112, 7, last), s7);
        }
        var all = Vector512<float>.AllBitsSet;
        Store(s0, c, alpha, beta, T.Value == 1 ? last : all);
        if (T.Value > 1) Store(s1, c + 16, alpha, beta, T.Value == 2 ? last : all);
        if (T.Value > 2) Store(s2, c + 32, alpha, beta, T.Value == 3 ? last : all);
        if (T.Value > 3) Store(s3, c + 48, alpha, beta, T.Value == 4 ? last : all);
        if (T.Value > 4) Store(s4, c + 64, alpha, beta, T.Value == 5 ? last : all);
        if (T.Value > 5) Store(s5, c + 80, alpha, beta, T.Value == 6 ? last : all);
        if (T.Value > 6) Store(s6, c + 96, alpha, beta, T.Value == 7 ? last : all);
        if (T.Value > 7) Store(s7, c + 112, alpha, beta, last);
    }

    /// <summary>Sum <paramref name="i"/> of T's 16 columns at b: the last one masked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Load<T>(float* b, int i, Vector512<float> last) where T : struct, ICount =>
        i == T.Value - 1 ? Avx512F.MaskLoad(b, last, Vector512<float>.Zero) : Vector512.Load(b);

    /// <summary>c = alpha·s (beta = 0: C not read) or alpha·s + beta·c, as the micro-kernels store a tile, in the
    /// lanes of <paramref name="mask"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<float> s, float* c, float alpha, float beta, Vector512<float> mask)
    {
        var va = Vector512.Create(alpha);
        var v = beta == 0f
            ? va * s
            : Vector512.FusedMultiplyAdd(va, s,
                Vector512.Create(beta) * Avx512F.MaskLoad(c, mask, Vector512<float>.Zero));
        Avx512F.MaskStore(c, mask, v);
    }
}
