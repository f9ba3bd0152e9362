using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>
/// Products too thin for the packed micro-kernel to pay for its packing, on one thread with AVX-512: a classifier's
/// last layer and its gradient. Two shapes:
/// <list type="bullet">
/// <item>at most 16 columns and a long depth, op(A) untransposed (<c>h @ w</c> with 10 outputs): each output is a dot
/// product of a row of A and a column of op(B), computed 4 rows × 4 columns at a time over 16-float runs of k;</item>
/// <item>a depth of at most 16 and at least 512 columns (<c>dy @ wᵀ</c> with 10 classes): C is written row by row,
/// each row a sum of at most 16 scaled rows of op(B).</item>
/// </list>
/// The packed path spends most of these products packing (a 256×1024 A for 10 columns of output) or storing tiles
/// 14 rows apart; measured on the deep benchmark network's last layer (1 thread): see <see cref="TryRun"/>.
/// </summary>
internal static unsafe class GemmNarrow
{
    /// <summary>The narrow paths on (the default; false sends every product to the packed path, for A/B benchmarks and tests).</summary>
    [ThreadStatic] internal static bool Off;

    /// <summary>Runs <paramref name="p"/> (k ≥ 1, alpha ≠ 0) by a narrow path and returns true, or returns false when
    /// none applies. Measured against the packed path (1 thread, median of 8 interleaved): 256×10×1024 NN 126 → 54 µs,
    /// 256×1024×10 NT 106 → 41 µs, 256×1024×10 TN 111 → 72 µs, 64×10×256 NN 8.3 → 5.3 µs. Shorter dot products (k &lt; 256,
    /// a convolution's 150-deep patches) keep the packed path, whose register tile needs no horizontal sums, and so does a
    /// transposed B under 128 rows of C, where copying B out costs what the product does (64×256×10 NT: 2.9 µs either way),
    /// and so do rows under 512 columns, whose 16-float runs and scalar tail cost more than a packed tile, and an op(B)
    /// over 64 KiB, which would stream from L2 once per row of C (a LeNet convolution's input gradient, as
    /// 150×6400×16 with a transposed B: 0.75 ms against 0.43 ms).</summary>
    public static bool TryRun(in GemmProblem p)
    {
        if (Off || !Vector512.IsHardwareAccelerated || Gemm.Isa is not (GemmIsa.Auto or GemmIsa.Avx512)) return false;
        if (!p.TransA && p.N <= 16 && p.K >= 256) Dots(in p);
        else if (p.K <= 16 && p.N >= 512 && (long)p.N * p.K <= 16384 && (!p.TransB || p.M >= 128)) Shallow(in p);
        else return false;
        return true;
    }

    /// <summary>C[i, j] = alpha·(row i of A)·(column j of op(B)) + beta·C[i, j], then the epilogue, 4×4 outputs at a time;
    /// the columns of op(B) are B's rows when B is transposed, else copied out of B once.</summary>
    private static void Dots(in GemmProblem p)
    {
        int m = p.M, n = p.N, k = p.K;
        float* bt = p.B;
        nint ldbt = p.Ldb;
        if (!p.TransB)
        {
            bt = GemmWorkspace.For(0, 0, (nuint)n * (nuint)k).B;
            ldbt = k;
            for (int q = 0; q < k; q++)
            {
                float* src = p.B + (nint)q * p.Ldb;
                for (int j = 0; j < n; j++) bt[(nint)j * k + q] = src[j];
            }
        }
        float* sums = stackalloc float[16];
        for (int i0 = 0; i0 < m; i0 += 4)
        {
            float* a0 = p.A + (nint)i0 * p.Lda;
            // Rows and columns past the edge repeat the last one (computed, not stored).
            float* a1 = p.A + (nint)Math.Min(i0 + 1, m - 1) * p.Lda, a2 = p.A + (nint)Math.Min(i0 + 2, m - 1) * p.Lda,
                a3 = p.A + (nint)Math.Min(i0 + 3, m - 1) * p.Lda;
            for (int j0 = 0; j0 < n; j0 += 4)
            {
                Dot4x4(k, a0, a1, a2, a3, bt + j0 * ldbt, bt + Math.Min(j0 + 1, n - 1) * ldbt, bt + Math.Min(j0 + 2, n - 1) * ldbt,
                    bt + Math.Min(j0 + 3, n - 1) * ldbt, sums);
                for (int r = 0; r < 4 && i0 + r < m; r++)
                {
                    float* c = p.C + (nint)(i0 + r) * p.Ldc + j0;
                    for (int s = 0; s < 4 && j0 + s < n; s++)
                        c[s] = p.Beta == 0f ? p.Alpha * sums[r * 4 + s] : p.Alpha * sums[r * 4 + s] + p.Beta * c[s];
                }
            }
            if (p.Bias != null || p.Activation != Activation.Identity)
                for (int r = 0; r < 4 && i0 + r < m; r++)
                    Epilogue.Apply(new Span<float>(p.C + (nint)(i0 + r) * p.Ldc, n), p.Bias, p.Activation);
        }
    }

    /// <summary>The 16 dot products of rows a0..a3 with rows b0..b3 over k floats, into sums[4·r + s].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4x4(int k, float* a0, float* a1, float* a2, float* a3, float* b0, float* b1, float* b2, float* b3, float* sums)
    {
        Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default,
            s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default;
        int q = 0;
        for (; q + 16 <= k; q += 16)
        {
            var x0 = Vector512.Load(a0 + q); var x1 = Vector512.Load(a1 + q); var x2 = Vector512.Load(a2 + q); var x3 = Vector512.Load(a3 + q);
            var y = Vector512.Load(b0 + q);
            s00 = Vector512.FusedMultiplyAdd(x0, y, s00); s10 = Vector512.FusedMultiplyAdd(x1, y, s10);
            s20 = Vector512.FusedMultiplyAdd(x2, y, s20); s30 = Vector512.FusedMultiplyAdd(x3, y, s30);
            y = Vector512.Load(b1 + q);
            s01 = Vector512.FusedMultiplyAdd(x0, y, s01); s11 = Vector512.FusedMultiplyAdd(x1, y, s11);
            s21 = Vector512.FusedMultiplyAdd(x2, y, s21); s31 = Vector512.FusedMultiplyAdd(x3, y, s31);
            y = Vector512.Load(b2 + q);
            s02 = Vector512.FusedMultiplyAdd(x0, y, s02); s12 = Vector512.FusedMultiplyAdd(x1, y, s12);
            s22 = Vector512.FusedMultiplyAdd(x2, y, s22); s32 = Vector512.FusedMultiplyAdd(x3, y, s32);
            y = Vector512.Load(b3 + q);
            s03 = Vector512.FusedMultiplyAdd(x0, y, s03); s13 = Vector512.FusedMultiplyAdd(x1, y, s13);
            s23 = Vector512.FusedMultiplyAdd(x2, y, s23); s33 = Vector512.FusedMultiplyAdd(x3, y, s33);
        }
        sums[0] = Vector512.Sum(s00); sums[1] = Vector512.Sum(s01); sums[2] = Vector512.Sum(s02); sums[3] = Vector512.Sum(s03);
        sums[4] = Vector512.Sum(s10); sums[5] = Vector512.Sum(s11); sums[6] = Vector512.Sum(s12); sums[7] = Vector512.Sum(s13);
        sums[8] = Vector512.Sum(s20); sums[9] = Vector512.Sum(s21); sums[10] = Vector512.Sum(s22); sums[11] = Vector512.Sum(s23);
        sums[12] = Vector512.Sum(s30); sums[13] = Vector512.Sum(s31); sums[14] = Vector512.Sum(s32); sums[15] = Vector512.Sum(s33);
        for (; q < k; q++)
        {
            float x0 = a0[q], x1 = a1[q], x2 = a2[q], x3 = a3[q], y0 = b0[q], y1 = b1[q], y2 = b2[q], y3 = b3[q];
            sums[0] += x0 * y0; sums[1] += x0 * y1; sums[2] += x0 * y2; sums[3] += x0 * y3;
            sums[4] += x1 * y0; sums[5] += x1 * y1; sums[6] += x1 * y2; sums[7] += x1 * y3;
            sums[8] += x2 * y0; sums[9] += x2 * y1; sums[10] += x2 * y2; sums[11] += x2 * y3;
            sums[12] += x3 * y0; sums[13] += x3 * y1; sums[14] += x3 * y2; sums[15] += x3 * y3;
        }
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
