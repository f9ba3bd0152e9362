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
    /// <summary>Packs op(A)[ic..ic+mc, pc..pc+kc] into <paramref name="dst"/> (⌈mc/MR⌉
    /// panels of kc·MR floats).</summary>
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
                // 8×8 transposes of rows [i, i+8); the last block overlaps the one before
                // when mr is not a multiple of 8.
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

    /// <summary>Floats from one packed B panel to the next: kc·nr plus one cache line. Without the line, at kc = 512
    /// and nr = 32 the panels start 64 KiB apart, so the row-order packing's stores to all panels at once (and the
    /// micro-kernel's reads of neighbouring panels) fall into the same L1 sets. Measured with the row-order packing
    /// against kc·nr and panel-by-panel packing (1 thread, median of 8 interleaved, same results bit for bit):
    /// 256×1024×1024 NN 2952 → 2679 µs warm and 3323 → 2745 µs with cold operands, 64×256×784 NN 232 → 165 µs cold,
    /// 1024³ 11.40 → 10.75 ms, 1024×1024×256 TN 2703 → 2628 µs.</summary>
    public static int PanelStride(int kc, int nr) => kc * nr + 16;

    /// <summary>Floats of a packed kc×nc block of B: ⌈nc/nr⌉ panels <see cref="PanelStride"/> apart.</summary>
    public static nuint PackedBLength(int kc, int nc, int nr) =>
        (nuint)((nc + nr - 1) / nr) * (nuint)PanelStride(kc, nr);

    /// <summary>Packs the kc×nc block of op(B) at (pc, jc) of a product, from B as it is stored
    /// (row-major or panels).</summary>
    public static void PackB(in GemmProblem p, int pc, int jc, int kc, int nc, int nr, float* dst)
    {
        if (p.BPanels) GemmPanels.Pack(p.TransB, p.B, p.N, p.K, pc, jc, kc, nc, nr, dst);
        else PackB(p.TransB, p.B, p.Ldb, pc, jc, kc, nc, nr, dst);
    }

    /// <summary>Packs op(B)[pc..pc+kc, jc..jc+nc] into <paramref name="dst"/> (⌈nc/NR⌉ panels of kc·NR floats,
    /// <see cref="PanelStride"/> apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(bool trans, float* b, int ldb, int pc, int jc, int kc, int nc, int nr, float* dst)
    {
        int stride = PanelStride(kc, nr), first = 0;
        if (!trans && nc >= nr
            && (nr % 16 == 0 && Vector512.IsHardwareAccelerated || nr % 8 == 0 && Vector256.IsHardwareAccelerated))
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
                if (cols == nr && nr % 16 == 0 && Avx512F.IsSupported)
                {
                    // Sixteen rows of b at a time over the whole depth, 16×16 blocks: every store fills one cache line.
                    p0 = kc & ~15;
                    for (int j = 0; j < nr; j += 16)
                        for (int p = 0; p < p0; p += 16)
                            Transpose16x16(s + (nint)j * ldb + p, ldb, d + (nint)p * nr + j, nr);
                }
                else if (cols == nr && nr % 8 == 0 && Avx.IsSupported)
                {
                    // Eight rows of b at a time over the whole depth: eight sequential read streams, which the
                    // hardware prefetcher follows (all nr rows side by side are too many
                    // streams; measured 2.5× slower).
                    p0 = kc & ~7;
                    for (int j = 0; j < nr; j += 8)
                        for (int p = 0; p < p0; p += 8)
                            Transpose8x8(s + (nint)j * ldb + p, ldb, d + (nint)p * nr + j, nr);
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

    /// <summary>d[q·ldd + i] = s[i·lds + q] for a 16×16 block, in registers: 32-bit and 64-bit interleaves of row
    /// pairs, then two rounds of 128-bit lane shuffles. Against 8×8 blocks (whose 32-byte stores fill half a line, the
    /// other half written a pass later), packing a transposed 1024×1024 weight takes 204–234 µs instead of 258–285 µs
    /// when it is not in cache and 116 µs instead of 122–134 µs when it is (1 thread, median of 15); whole products
    /// with a transposed B gain 0.5–2% (256×1024×1024 2697 → 2676 µs, 64×784×256 148 → 145 µs, same
    /// results bit for bit).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose16x16(float* s, int lds, float* d, int ldd)
    {
        nint l = lds, m = ldd;
        var r0 = Vector512.Load(s); var r1 = Vector512.Load(s + l);
        var r2 = Vector512.Load(s + 2 * l); var r3 = Vector512.Load(s + 3 * l);
        var r4 = Vector512.Load(s + 4 * l); var r5 = Vector512.Load(s + 5 * l);
        var r6 = Vector512.Load(s + 6 * l); var r7 = Vector512.Load(s + 7 * l);
        var r8 = Vector512.Load(s + 8 * l); var r9 = Vector512.Load(s + 9 * l);
        var r10 = Vector512.Load(s + 10 * l); var r11 = Vector512.Load(s + 11 * l);
        var r12 = Vector512.Load(s + 12 * l); var r13 = Vector512.Load(s + 13 * l);
        var r14 = Vector512.Load(s + 14 * l); var r15 = Vector512.Load(s + 15 * l);
        // rows interleaved in pairs (32-bit), then in fours (64-bit): in each 128-bit lane L, u(4g + c) holds
        // column 4L + c of rows 4g..4g+3
        var t0 = Avx512F.UnpackLow(r0, r1); var t1 = Avx512F.UnpackHigh(r0, r1);
        var t2 = Avx512F.UnpackLow(r2, r3); var t3 = Avx512F.UnpackHigh(r2, r3);
        var t4 = Avx512F.UnpackLow(r4, r5); var t5 = Avx512F.UnpackHigh(r4, r5);
        var t6 = Avx512F.UnpackLow(r6, r7); var t7 = Avx512F.UnpackHigh(r6, r7);
        var t8 = Avx512F.UnpackLow(r8, r9); var t9 = Avx512F.UnpackHigh(r8, r9);
        var t10 = Avx512F.UnpackLow(r10, r11); var t11 = Avx512F.UnpackHigh(r10, r11);
        var t12 = Avx512F.UnpackLow(r12, r13); var t13 = Avx512F.UnpackHigh(r12, r13);
        var t14 = Avx512F.UnpackLow(r14, r15); var t15 = Avx512F.UnpackHigh(r14, r15);
        var u0 = Avx512F.UnpackLow(t0.AsDouble(), t2.AsDouble()).AsSingle();
        var u1 = Avx512F.UnpackHigh(t0.AsDouble(), t2.AsDouble()).AsSingle();
        var u2 = Avx512F.UnpackLow(t1.AsDouble(), t3.AsDouble()).AsSingle();
        var u3 = Avx512F.UnpackHigh(t1.AsDouble(), t3.AsDouble()).AsSingle();
        var u4 = Avx512F.UnpackLow(t4.AsDouble(), t6.AsDouble()).AsSingle();
        var u5 = Avx512F.UnpackHigh(t4.AsDouble(), t6.AsDouble()).AsSingle();
        var u6 = Avx512F.UnpackLow(t5.AsDouble(), t7.AsDouble()).AsSingle();
        var u7 = Avx512F.UnpackHigh(t5.AsDouble(), t7.AsDouble()).AsSingle();
        var u8 = Avx512F.UnpackLow(t8.AsDouble(), t10.AsDouble()).AsSingle();
        var u9 = Avx512F.UnpackHigh(t8.AsDouble(), t10.AsDouble()).AsSingle();
        var u10 = Avx512F.UnpackLow(t9.AsDouble(), t11.AsDouble()).AsSingle();
        var u11 = Avx512F.UnpackHigh(t9.AsDouble(), t11.AsDouble()).AsSingle();
        var u12 = Avx512F.UnpackLow(t12.AsDouble(), t14.AsDouble()).AsSingle();
        var u13 = Avx512F.UnpackHigh(t12.AsDouble(), t14.AsDouble()).AsSingle();
        var u14 = Avx512F.UnpackLow(t13.AsDouble(), t15.AsDouble()).AsSingle();
        var u15 = Avx512F.UnpackHigh(t13.AsDouble(), t15.AsDouble()).AsSingle();
        // lanes gathered: v(c) holds columns c and c + 8 of rows 0..7 (v0..v7) or 8..15 (v8..v15), then the stores put
        // rows 0..15 of one column together
        var v0 = Avx512F.Shuffle4x128(u0, u4, 0x88); var v1 = Avx512F.Shuffle4x128(u1, u5, 0x88);
        var v2 = Avx512F.Shuffle4x128(u2, u6, 0x88); var v3 = Avx512F.Shuffle4x128(u3, u7, 0x88);
        var v4 = Avx512F.Shuffle4x128(u0, u4, 0xDD); var v5 = Avx512F.Shuffle4x128(u1, u5, 0xDD);
        var v6 = Avx512F.Shuffle4x128(u2, u6, 0xDD); var v7 = Avx512F.Shuffle4x128(u3, u7, 0xDD);
        var v8 = Avx512F.Shuffle4x128(u8, u12, 0x88); var v9 = Avx512F.Shuffle4x128(u9, u13, 0x88);
        var v10 = Avx512F.Shuffle4x128(u10, u14, 0x88); var v11 = Avx512F.Shuffle4x128(u11, u15, 0x88);
        var v12 = Avx512F.Shuffle4x128(u8, u12, 0xDD); var v13 = Avx512F.Shuffle4x128(u9, u13, 0xDD);
        var v14 = Avx512F.Shuffle4x128(u10, u14, 0xDD); var v15 = Avx512F.Shuffle4x128(u11, u15, 0xDD);
        Vector512.Store(Avx512F.Shuffle4x128(v0, v8, 0x88), d);
        Vector512.Store(Avx512F.Shuffle4x128(v1, v9, 0x88), d + m);
        Vector512.Store(Avx512F.Shuffle4x128(v2, v10, 0x88), d + 2 * m);
        Vector512.Store(Avx512F.Shuffle4x128(v3, v11, 0x88), d + 3 * m);
        Vector512.Store(Avx512F.Shuffle4x128(v4, v12, 0x88), d + 4 * m);
        Vector512.Store(Avx512F.Shuffle4x128(v5, v13, 0x88), d + 5 * m);
        Vector512.Store(Avx512F.Shuffle4x128(v6, v14, 0x88), d + 6 * m);
        Vector512.Store(Avx512F.Shuffle4x128(v7, v15, 0x88), d + 7 * m);
        Vector512.Store(Avx512F.Shuffle4x128(v0, v8, 0xDD), d + 8 * m);
        Vector512.Store(Avx512F.Shuffle4x128(v1, v9, 0xDD), d + 9 * m);
        Vector512.Store(Avx512F.Shuffle4x128(v2, v10, 0xDD), d + 10 * m);
        Vector512.Store(Avx512F.Shuffle4x128(v3, v11, 0xDD), d + 11 * m);
        Vector512.Store(Avx512F.Shuffle4x128(v4, v12, 0xDD), d + 12 * m);
        Vector512.Store(Avx512F.Shuffle4x128(v5, v13, 0xDD), d + 13 * m);
        Vector512.Store(Avx512F.Shuffle4x128(v6, v14, 0xDD), d + 14 * m);
        Vector512.Store(Avx512F.Shuffle4x128(v7, v15, 0xDD), d + 15 * m);
    }

    /// <summary>d[q·ldd + i] = s[i·lds + q] for an 8×8 block, in registers (the transposed-B panel's rows are the
    /// source's columns; a scalar copy writes each value to a different cache line).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* s, int lds, float* d, int ldd)
    {
        Vector256<float> r0 = Avx.LoadVector256(s), r1 = Avx.LoadVector256(s + lds),
            r2 = Avx.LoadVector256(s + 2 * (nint)lds), r3 = Avx.LoadVector256(s + 3 * (nint)lds),
            r4 = Avx.LoadVector256(s + 4 * (nint)lds), r5 = Avx.LoadVector256(s + 5 * (nint)lds),
            r6 = Avx.LoadVector256(s + 6 * (nint)lds), r7 = Avx.LoadVector256(s + 7 * (nint)lds);
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1),
            t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3),
            t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5),
            t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE),
            u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE),
            u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE),
            u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
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
