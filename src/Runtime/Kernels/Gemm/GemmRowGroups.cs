using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nn.Runtime.Kernels;

/// <summary>
/// The row order of a block whose panels skip their zero k steps (<see cref="GemmZeroColumns"/>): the full panels of
/// an mc-row block of op(A) take its rows sorted by where their nonzero values lie in the pass's k range (the span from
/// the first nonzero step to the last, then the first), so rows whose zeros fall on the same steps share a panel and
/// the panel keeps fewer steps; the partial last panel keeps its rows in order. The packed panels hold the rows in
/// that order and the skipping kernel writes each C row where it belongs (row offsets,
/// <see cref="GemmMicroKernels.Avx512_14x32_Skip"/>).
/// <para>Exact: a C element is one FMA chain over its own row's k in order, and a step its panel skips is zero in
/// that row too, so which rows share a panel changes no bit (<see cref="GemmZeroColumns"/>).</para>
/// </summary>
internal static unsafe class GemmRowGroups
{
    /// <summary>True keeps the rows in file order in the products started on this thread (A/B benchmarks and
    /// tests).</summary>
    [ThreadStatic] internal static bool Off;
    internal static int KeyMode = int.Parse(Environment.GetEnvironmentVariable("NN_GROUP_KEY") ?? "0");

    /// <summary>The k steps 0, 1, 2, …: the index of a panel of a reordered block that runs all its steps (the
    /// skipping kernel then reads B's rows in order, as the dense kernel does).</summary>
    internal static readonly int* AllSteps = Steps(1 << 13);

    private static int* Steps(int n)
    {
        int* s = (int*)NativeMemory.AlignedAlloc((nuint)n * sizeof(int), 64);
        for (int i = 0; i < n; i++) s[i] = i;
        return s;
    }

    /// <summary>Whether a block of this product is reordered: only where it skips, op(A) untransposed (rows read
    /// where they are stored), C row-major and no update.</summary>
    public static bool Applies(in GemmProblem p) =>
        p.GroupRows && p.SkipZeroColumns && p.Kernel.FnSkip != null && !p.TransA && !p.CPanels && !p.Update.Active;

    /// <summary>
    /// <paramref name="rows"/>[i] (i &lt; mc) = the block row (0 ≤ r &lt; mc) that goes to position i: the first
    /// ⌊mc/mr⌋·mr positions the rows [0, ⌊mc/mr⌋·mr) sorted by their key (ties in file order), the rest in order.
    /// <paramref name="keys"/> is scratch of mc longs. Rows are A[ic + r, pc .. pc + kc).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Order(float* a, int lda, int ic, int pc, int mc, int kc, int mr, int* rows, long* keys)
    {
        int full = mc / mr * mr;
        for (int r = 0; r < full; r++)
            keys[r] = (long)Key(a + (nint)(ic + r) * lda + pc, kc) << 16 | (uint)r;
        if (KeyMode < 8) new Span<long>(keys, full).Sort();
        for (int i = 0; i < full; i++) rows[i] = (int)(keys[i] & 0xFFFF);
        for (int i = full; i < mc; i++) rows[i] = i;
    }

    /// <summary>A row's sort key: (last − first nonzero step) · 2¹⁴ + first; an all-zero row sorts first.</summary>
    private static int Key(float* s, int kc)
    {
        var magnitude = Vector256.Create(0x7FFF_FFFFu);
        int first = 0, last = kc - 1;
        for (; first + 8 <= kc; first += 8)
            if ((Vector256.Load((uint*)(s + first)) & magnitude) != Vector256<uint>.Zero) break;
        while (first < kc && (((uint*)s)[first] & 0x7FFF_FFFFu) == 0) first++;
        if (first == kc) return 0;
        for (; last - 7 >= first; last -= 8)
            if ((Vector256.Load((uint*)(s + last - 7)) & magnitude) != Vector256<uint>.Zero) break;
        while ((((uint*)s)[last] & 0x7FFF_FFFFu) == 0) last--;
        return KeyMode switch { 1 => first << 14 | last, 2 => last << 14 | first, 3 => first, 4 => (last + first) << 14 | first, _ => (last - first) << 14 | first };
    }

    /// <summary>Packs the rows <paramref name="rows"/>[0..mc) of the block (row r = A[ic + r, pc ..]) into ⌈mc/mr⌉
    /// panels of kc·mr floats, as <see cref="GemmPacking.PackA"/> packs rows in order (a short last panel
    /// zero-padded).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(float* a, int lda, int ic, int pc, int mc, int kc, int mr, int* rows, float* dst)
    {
        float** r = stackalloc float*[16];
        for (int ir = 0; ir < mc; ir += mr)
        {
            int n = Math.Min(mr, mc - ir);
            for (int i = 0; i < n; i++) r[i] = a + (nint)(ic + rows[ir + i]) * lda + pc;
            float* d = dst + (nint)ir * kc;
            int p0 = 0;
            if (n == mr && mr >= 8 && Avx.IsSupported)
                for (; p0 + 8 <= kc; p0 += 8)
                {
                    // 8×8 transposes of rows [i, i+8); the last overlaps the one before when mr is not a multiple of 8
                    int i = 0;
                    for (; i + 8 <= mr; i += 8) Transpose8x8(r + i, p0, d + (nint)p0 * mr + i, mr);
                    if (i < mr) Transpose8x8(r + mr - 8, p0, d + (nint)p0 * mr + mr - 8, mr);
                }
            for (int p = p0; p < kc; p++)
            {
                int i = 0;
                for (; i < n; i++) d[(nint)p * mr + i] = r[i][p];
                for (; i < mr; i++) d[(nint)p * mr + i] = 0f;
            }
        }
    }

    /// <summary>d[q·ldd + i] = s[i][p0 + q] for 8 rows and 8 steps, in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float** s, int p0, float* d, int ldd)
    {
        Vector256<float> r0 = Avx.LoadVector256(s[0] + p0), r1 = Avx.LoadVector256(s[1] + p0),
            r2 = Avx.LoadVector256(s[2] + p0), r3 = Avx.LoadVector256(s[3] + p0),
            r4 = Avx.LoadVector256(s[4] + p0), r5 = Avx.LoadVector256(s[5] + p0),
            r6 = Avx.LoadVector256(s[6] + p0), r7 = Avx.LoadVector256(s[7] + p0);
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
