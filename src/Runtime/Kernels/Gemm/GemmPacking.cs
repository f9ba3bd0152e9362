using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
                if (rows == mr && mr >= 8 && Avx.IsSupported)
                {
                    // Whole 8-float runs, the last one overlapping the one before when mr is not a multiple of 8.
                    for (int p = 0; p < kc; p++, s += lda, d += mr)
                    {
                        int i = 0;
                        for (; i + 8 <= mr; i += 8) Avx.Store(d + i, Avx.LoadVector256(s + i));
                        if (i < mr) Avx.Store(d + mr - 8, Avx.LoadVector256(s + mr - 8));
                    }
                }
                else
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
        int p0 = 0;
        if (mr >= 8 && Avx.IsSupported)
            for (; p0 + 8 <= kc; p0 += 8)
            {
                // 8×8 transposes of rows [i, i+8); the last block overlaps the one before when mr is not a multiple of 8.
                int i = 0;
                for (; i + 8 <= mr; i += 8) Transpose8x8(s + (nint)i * lda + p0, lda, d + (nint)p0 * mr + i, mr);
                if (i < mr) Transpose8x8(s + (nint)(mr - 8) * lda + p0, lda, d + (nint)p0 * mr + mr - 8, mr);
            }
        if (p0 == kc) return;
        s += p0; d += (nint)p0 * mr; kc -= p0;
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

    /// <summary>Floats from one packed B panel to the next: kc·nr plus one cache line. Without the line, at kc = 512 and
    /// nr = 32 the panels start 64 KiB apart, so the row-order packing's stores to all panels at once (and the
    /// micro-kernel's reads of neighbouring panels) fall into the same L1 sets. Measured with the row-order packing
    /// against kc·nr and panel-by-panel packing (1 thread, median of 8 interleaved, same results bit for bit):
    /// 256×1024×1024 NN 2952 → 2679 µs warm and 3323 → 2745 µs with cold operands, 64×256×784 NN 232 → 165 µs cold,
    /// 1024³ 11.40 → 10.75 ms, 1024×1024×256 TN 2703 → 2628 µs.</summary>
    public static int PanelStride(int kc, int nr) => kc * nr + 16;

    /// <summary>Floats of a packed kc×nc block of B: ⌈nc/nr⌉ panels <see cref="PanelStride"/> apart.</summary>
    public static nuint PackedBLength(int kc, int nc, int nr) => (nuint)((nc + nr - 1) / nr) * (nuint)PanelStride(kc, nr);

    /// <summary>Packs op(B)[pc..pc+kc, jc..jc+nc] into <paramref name="dst"/> (⌈nc/NR⌉ panels of kc·NR floats,
    /// <see cref="PanelStride"/> apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(bool trans, float* b, int ldb, int pc, int jc, int kc, int nc, int nr, float* dst)
    {
        int stride = PanelStride(kc, nr), first = 0;
        if (!trans && nc >= nr && (nr % 16 == 0 && Vector512.IsHardwareAccelerated || nr % 8 == 0 && Vector256.IsHardwareAccelerated))
        {
            first = nc / nr * nr;
            PackRowsB(b + (nint)pc * ldb + jc, ldb, kc, first / nr, nr, stride, dst);
        }
        for (int jr = first; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* d = dst + (nint)(jr / nr) * stride;
            if (!trans)
            {
                // op(B)[p, j] = b[p, j]: each k step copies a contiguous run of a row (the last, partial panel).
                float* s = b + (nint)pc * ldb + jc + jr;
                for (int p = 0; p < kc; p++, s += ldb, d += nr)
                {
                    int j = 0;
                    for (; j < cols; j++) d[j] = s[j];
                    for (; j < nr; j++) d[j] = 0f;
                }
            }
            else
            {
                // op(B)[p, j] = b[j, p]: each column of the panel is a contiguous row of b.
                float* s = b + (nint)(jc + jr) * ldb + pc;
                int p0 = 0;
                if (cols == nr && nr % 8 == 0 && Avx.IsSupported)
                {
                    // Eight rows of b at a time over the whole depth: eight sequential read streams, which the
                    // hardware prefetcher follows (all nr rows side by side are too many streams; measured 2.5× slower).
                    p0 = kc & ~7;
                    for (int j = 0; j < nr; j += 8)
                        for (int p = 0; p < p0; p += 8) Transpose8x8(s + (nint)j * ldb + p, ldb, d + (nint)p * nr + j, nr);
                }
                for (int j = 0; j < cols; j++)
                {
                    float* sj = s + (nint)j * ldb;
                    for (int p = p0; p < kc; p++) d[(nint)p * nr + j] = sj[p];
                }
                for (int j = cols; j < nr; j++)
                    for (int p = 0; p < kc; p++) d[(nint)p * nr + j] = 0f;
            }
        }
    }

    /// <summary>
    /// The full panels of a non-transposed B in row order: each row of b (the source's contiguous k-th row) is read
    /// once from start to end and its nr-float runs stored into the panels. Reading panel by panel instead takes nr
    /// floats from each of kc rows (4 KiB apart for a 1024-wide weight), which the hardware prefetcher does not
    /// follow across pages: measured (1 thread, median of 21) for a 1024×1024 block at kc = 512, 150 µs panel by panel
    /// against 101 µs in row order when the weight is in cache, and 294 against 201 µs when it is not; 784×256 (the
    /// batch-64 forward), 60 against 53 µs from memory.
    /// </summary>
    private static void PackRowsB(float* b, int ldb, int kc, int panels, int nr, int stride, float* dst)
    {
        for (int p = 0; p < kc; p++)
        {
            float* s = b + (nint)p * ldb, d = dst + (nint)p * nr;
            if (nr % 16 == 0 && Vector512.IsHardwareAccelerated)
            {
                for (int t = 0; t < panels; t++, s += nr, d += stride)
                    for (int j = 0; j < nr; j += 16) Vector512.Store(Vector512.Load(s + j), d + j);
            }
            else
            {
                for (int t = 0; t < panels; t++, s += nr, d += stride)
                    for (int j = 0; j < nr; j += 8) Vector256.Store(Vector256.Load(s + j), d + j);
            }
        }
    }

    /// <summary>d[q·ldd + i] = s[i·lds + q] for an 8×8 block, in registers (the transposed-B panel's rows are the
    /// source's columns; a scalar copy writes each value to a different cache line).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* s, int lds, float* d, int ldd)
    {
        Vector256<float> r0 = Avx.LoadVector256(s), r1 = Avx.LoadVector256(s + lds), r2 = Avx.LoadVector256(s + 2 * (nint)lds),
            r3 = Avx.LoadVector256(s + 3 * (nint)lds), r4 = Avx.LoadVector256(s + 4 * (nint)lds), r5 = Avx.LoadVector256(s + 5 * (nint)lds),
            r6 = Avx.LoadVector256(s + 6 * (nint)lds), r7 = Avx.LoadVector256(s + 7 * (nint)lds);
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3),
            t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE),
            u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(d + ldd, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + 2 * (nint)ldd, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(d + 3 * (nint)ldd, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + 4 * (nint)ldd, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(d + 5 * (nint)ldd, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + 6 * (nint)ldd, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(d + 7 * (nint)ldd, Avx.Permute2x128(u3, u7, 0x31));
    }
}
