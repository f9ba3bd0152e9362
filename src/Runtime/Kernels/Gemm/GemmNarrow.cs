using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>
/// Products with a depth of at most 16 and at least 512 columns, on one thread with AVX-512: a classifier's input
/// gradient (<c>dy @ wᵀ</c> with 10 classes). C is written row by row, each row a sum of at most 16 scaled rows of
/// op(B), 128 columns at a time; the packed path would spend the product packing and storing 14-row tiles for 10 steps
/// of k each. (Products at most 16 columns wide, the other side of such a layer, are the engine's row-vector kernel:
/// <c>GemmKernels.Narrow</c>.)
/// </summary>
internal static unsafe class GemmNarrow
{
    /// <summary>The row-by-row path on (the default; false sends every product to the packed path, for A/B benchmarks and tests).</summary>
    [ThreadStatic] internal static bool Off;

    /// <summary>Runs <paramref name="p"/> (k ≥ 1, alpha ≠ 0) row by row and returns true, or returns false when the shape
    /// is not one this path serves. Measured against the packed path (1 thread, median of 8 interleaved): 256×1024×10
    /// NT 106 → 41 µs, TN 111 → 72 µs. A transposed B under 128 rows of C keeps the packed path, where copying B out costs
    /// what the product does (64×256×10 NT: 2.9 µs either way), and so do rows under 512 columns, whose 16-float runs and
    /// scalar tail cost more than a packed tile, and an op(B) over 64 KiB, which would stream from L2 once per row of C.</summary>
    public static bool TryRun(in GemmProblem p)
    {
        if (Off || !Vector512.IsHardwareAccelerated || Gemm.Isa is not (GemmIsa.Auto or GemmIsa.Avx512)) return false;
        if (p.K > 16 || p.N < 512 || (long)p.N * p.K > 16384 || (p.TransB && p.M < 128)) return false;
        Shallow(in p);
        return true;
    }

    /// <summary>Row i of C = alpha·Σ_q op(A)[i, q]·(row q of op(B)) + beta·(row i of C), then the epilogue; op(B)'s rows
    /// are B's when B is not transposed, else copied out of B once.</summary>
    private static void Shallow(in GemmProblem p)
    {
        int m = p.M, n = p.N, k = p.K;
        float* b = p.B;
        nint ldb = p.Ldb;
        if (p.TransB)
        {
            b = GemmWorkspace.For(0, 0, (nuint)n * (nuint)k).B;
            ldb = n;
            for (int j = 0; j < n; j++)
            {
                float* src = p.B + (nint)j * p.Ldb;
                for (int q = 0; q < k; q++) b[(nint)q * n + j] = src[q];
            }
        }
        float* ai = stackalloc float[16];
        for (int i = 0; i < m; i++)
        {
            for (int q = 0; q < k; q++) ai[q] = p.TransA ? p.A[(nint)q * p.Lda + i] : p.A[(nint)i * p.Lda + q];
            ShallowRow(k, n, ai, b, ldb, p.C + (nint)i * p.Ldc, p.Alpha, p.Beta);
            if (p.Bias != null || p.Activation != Activation.Identity)
                Epilogue.Apply(new Span<float>(p.C + (nint)i * p.Ldc, n), p.Bias, p.Activation);
        }
    }

    /// <summary>c[0..n) = alpha·Σ_{q&lt;k} ai[q]·b[q·ldb + 0..n) + beta·c, 128 columns (8 independent sums) at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ShallowRow(int k, int n, float* ai, float* b, nint ldb, float* c, float alpha, float beta)
    {
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        int j = 0;
        for (; j + 128 <= n; j += 128)
        {
            Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            float* bq = b + j;
            for (int q = 0; q < k; q++, bq += ldb)
            {
                var x = Vector512.Create(ai[q]);
                s0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(bq), s0); s1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(bq + 16), s1);
                s2 = Vector512.FusedMultiplyAdd(x, Vector512.Load(bq + 32), s2); s3 = Vector512.FusedMultiplyAdd(x, Vector512.Load(bq + 48), s3);
                s4 = Vector512.FusedMultiplyAdd(x, Vector512.Load(bq + 64), s4); s5 = Vector512.FusedMultiplyAdd(x, Vector512.Load(bq + 80), s5);
                s6 = Vector512.FusedMultiplyAdd(x, Vector512.Load(bq + 96), s6); s7 = Vector512.FusedMultiplyAdd(x, Vector512.Load(bq + 112), s7);
            }
            float* cj = c + j;
            if (beta == 0f)
            {
                Vector512.Store(va * s0, cj); Vector512.Store(va * s1, cj + 16); Vector512.Store(va * s2, cj + 32); Vector512.Store(va * s3, cj + 48);
                Vector512.Store(va * s4, cj + 64); Vector512.Store(va * s5, cj + 80); Vector512.Store(va * s6, cj + 96); Vector512.Store(va * s7, cj + 112);
            }
            else
            {
                Vector512.Store(Vector512.FusedMultiplyAdd(va, s0, vb * Vector512.Load(cj)), cj);
                Vector512.Store(Vector512.FusedMultiplyAdd(va, s1, vb * Vector512.Load(cj + 16)), cj + 16);
                Vector512.Store(Vector512.FusedMultiplyAdd(va, s2, vb * Vector512.Load(cj + 32)), cj + 32);
                Vector512.Store(Vector512.FusedMultiplyAdd(va, s3, vb * Vector512.Load(cj + 48)), cj + 48);
                Vector512.Store(Vector512.FusedMultiplyAdd(va, s4, vb * Vector512.Load(cj + 64)), cj + 64);
                Vector512.Store(Vector512.FusedMultiplyAdd(va, s5, vb * Vector512.Load(cj + 80)), cj + 80);
                Vector512.Store(Vector512.FusedMultiplyAdd(va, s6, vb * Vector512.Load(cj + 96)), cj + 96);
                Vector512.Store(Vector512.FusedMultiplyAdd(va, s7, vb * Vector512.Load(cj + 112)), cj + 112);
            }
        }
        for (; j + 16 <= n; j += 16)
        {
            Vector512<float> s = default;
            float* bq = b + j;
            for (int q = 0; q < k; q++, bq += ldb) s = Vector512.FusedMultiplyAdd(Vector512.Create(ai[q]), Vector512.Load(bq), s);
            Vector512.Store(beta == 0f ? va * s : Vector512.FusedMultiplyAdd(va, s, vb * Vector512.Load(c + j)), c + j);
        }
        for (; j < n; j++)
        {
            float s = 0f;
            for (int q = 0; q < k; q++) s = MathF.FusedMultiplyAdd(ai[q], b[(nint)q * ldb + j], s);
            c[j] = beta == 0f ? alpha * s : alpha * s + beta * c[j];
        }
    }
}
