using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>
/// Packs blocks of op(A) and op(B) into the layouts the micro-kernel streams: A as consecutive MR-row panels
/// (for each k, MR values), B as consecutive NR-column panels (for each k, NR values). Partial panels are
/// padded with zeros so the micro-kernel never needs a bounds check.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>Packs op(A)[ic..ic+mc, pc..pc+kc] into <paramref name="dst"/> (⌈mc/MR⌉ panels of kc·MR floats).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(bool trans, float* a, int lda, int ic, int pc, int mc, int kc, int mr, float* dst)
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            float* d = dst + (nint)ir * kc;
            if (trans)
            {
                // op(A)[i, p] = a[p, i]: each k step is a contiguous run of rows.
                float* s = a + (nint)pc * lda + ic + ir;
                for (int p = 0; p < kc; p++, s += lda, d += mr)
                {
                    int i = 0;
                    for (; i < rows; i++) d[i] = s[i];
                    for (; i < mr; i++) d[i] = 0f;
                }
            }
            else
            {
                // op(A)[i, p] = a[i, p]: gather one value from each row per k step.
                float* s = a + (nint)(ic + ir) * lda + pc;
                if (rows == mr) PackRowsInterleaved(s, lda, kc, mr, d);
                else
                {
                    for (int p = 0; p < kc; p++)
                    {
                        int i = 0;
                        for (; i < rows; i++) d[(nint)p * mr + i] = s[(nint)i * lda + p];
                        for (; i < mr; i++) d[(nint)p * mr + i] = 0f;
                    }
                }
            }
        }
    }

    /// <summary>Interleaves mr full rows: d[p·mr + i] = s[i·lda + p], reading each row sequentially.</summary>
    private static void PackRowsInterleaved(float* s, int lda, int kc, int mr, float* d)
    {
        for (int i = 0; i < mr; i++)
        {
            float* si = s + (nint)i * lda;
            float* di = d + i;
            int p = 0;
            for (; p + 4 <= kc; p += 4)
            {
                di[(nint)p * mr] = si[p];
                di[(nint)(p + 1) * mr] = si[p + 1];
                di[(nint)(p + 2) * mr] = si[p + 2];
                di[(nint)(p + 3) * mr] = si[p + 3];
            }
            for (; p < kc; p++) di[(nint)p * mr] = si[p];
        }
    }

    /// <summary>Packs op(B)[pc..pc+kc, jc..jc+nc] into <paramref name="dst"/> (⌈nc/NR⌉ panels of kc·NR floats).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(bool trans, float* b, int ldb, int pc, int jc, int kc, int nc, int nr, float* dst)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* d = dst + (nint)jr * kc;
            if (!trans)
            {
                // op(B)[p, j] = b[p, j]: each k step copies a contiguous run of a row.
                float* s = b + (nint)pc * ldb + jc + jr;
                if (cols == nr && nr % 16 == 0 && Vector512.IsHardwareAccelerated)
                {
                    for (int p = 0; p < kc; p++, s += ldb, d += nr)
                        for (int j = 0; j < nr; j += 16) Vector512.Store(Vector512.Load(s + j), d + j);
                }
                else if (cols == nr && nr % 8 == 0 && Vector256.IsHardwareAccelerated)
                {
                    for (int p = 0; p < kc; p++, s += ldb, d += nr)
                        for (int j = 0; j < nr; j += 8) Vector256.Store(Vector256.Load(s + j), d + j);
                }
                else
                {
                    for (int p = 0; p < kc; p++, s += ldb, d += nr)
                    {
                        int j = 0;
                        for (; j < cols; j++) d[j] = s[j];
                        for (; j < nr; j++) d[j] = 0f;
                    }
                }
            }
            else
            {
                // op(B)[p, j] = b[j, p]: each column of the panel is a contiguous row of b.
                float* s = b + (nint)(jc + jr) * ldb + pc;
                for (int j = 0; j < cols; j++)
                {
                    float* sj = s + (nint)j * ldb;
                    for (int p = 0; p < kc; p++) d[(nint)p * nr + j] = sj[p];
                }
                for (int j = cols; j < nr; j++)
                    for (int p = 0; p < kc; p++) d[(nint)p * nr + j] = 0f;
            }
        }
    }
}
