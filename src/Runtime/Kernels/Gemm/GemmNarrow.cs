using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>
/// Products too thin for the packed micro-kernel to pay for its packing: a classifier layer's three products.
/// <list type="bullet">
/// <item><see cref="TryRun"/>: a depth of at most 16 and at least 512 columns (the input gradient <c>dy @ wᵀ</c> with
/// 10 classes), on one thread with AVX-512. C is written row by row, each row a sum of at most 16 scaled rows of op(B),
/// 128 columns at a time; the packed path would spend the product packing and storing 14-row
/// tiles for 10 steps of k.</item>
/// <item><see cref="RowVectors"/>: at most 16 columns (the logits <c>h @ w</c>), the engine's row-vector products,
/// taking <see cref="TransposedA"/> for a weight gradient <c>xᵀ @ dy</c>.</item>
/// </list>
/// </summary>
internal static unsafe partial class GemmNarrow
{
    /// <summary>The row-by-row path on (the default; false sends every product to the packed path, for A/B
    /// benchmarks and tests).</summary>
    [ThreadStatic] internal static bool Off;

    /// <summary>Runs <paramref name="p"/> (k ≥ 1, alpha ≠ 0) row by row and returns true, or returns false when the
    /// shape is not one this path serves. Measured against the packed path (1 thread, median
    /// of 8 interleaved): 256×1024×10 NT 106 → 41 µs, TN 111 → 72 µs. A transposed B under 128 rows of C keeps the
    /// packed path, where copying B out costs what the product does (64×256×10 NT: 2.9 µs either way), and so do rows
    /// under 512 columns, whose 16-float runs and scalar tail cost more than a packed tile, and an op(B) over 64 KiB,
    /// which would stream from L2 once per row of C.</summary>
    public static bool TryRun(in GemmProblem p)
    {
        if (Off || p.BPanels || p.CPanels || !Vector512.IsHardwareAccelerated
            || Gemm.Isa is not (GemmIsa.Auto or GemmIsa.Avx512)) return false;
        if (p.K > 16 || p.N < 512 || (long)p.N * p.K > 16384 || (p.TransB && p.M < 128)) return false;
        Shallow(in p);
        return true;
    }

    /// <summary>Row i of C = alpha·Σ_q op(A)[i, q]·(row q of op(B)) + beta·(row i of C), then the epilogue; op(B)'s
    /// rows are B's when B is not transposed, else copied out of B once.</summary>
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

    /// <summary>c[0..n) = alpha·Σ_{q&lt;k} ai[q]·b[q·ldb + 0..n) + beta·c, 128 columns (8
    /// independent sums) at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ShallowRow(int k, int n, float* ai, float* b, nint ldb, float* c, float alpha, float beta)
    {
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        int j = 0;
        for (; j + 128 <= n; j += 128)
        {
            Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default,
                s4 = default, s5 = default, s6 = default, s7 = default;
            float* bq = b + j;
            for (int q = 0; q < k; q++, bq += ldb)
            {
                var x = Vector512.Create(ai[q]);
                s0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(bq), s0);
                s1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(bq + 16), s1);
                s2 = Vector512.FusedMultiplyAdd(x, Vector512.Load(bq + 32), s2);
                s3 = Vector512.FusedMultiplyAdd(x, Vector512.Load(bq + 48), s3);
                s4 = Vector512.FusedMultiplyAdd(x, Vector512.Load(bq + 64), s4);
                s5 = Vector512.FusedMultiplyAdd(x, Vector512.Load(bq + 80), s5);
                s6 = Vector512.FusedMultiplyAdd(x, Vector512.Load(bq + 96), s6);
                s7 = Vector512.FusedMultiplyAdd(x, Vector512.Load(bq + 112), s7);
            }
            float* cj = c + j;
            if (beta == 0f)
            {
                Vector512.Store(va * s0, cj); Vector512.Store(va * s1, cj + 16);
                Vector512.Store(va * s2, cj + 32); Vector512.Store(va * s3, cj + 48);
                Vector512.Store(va * s4, cj + 64); Vector512.Store(va * s5, cj + 80);
                Vector512.Store(va * s6, cj + 96); Vector512.Store(va * s7, cj + 112);
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
            for (int q = 0; q < k; q++, bq += ldb)
                s = Vector512.FusedMultiplyAdd(Vector512.Create(ai[q]), Vector512.Load(bq), s);
            Vector512.Store(beta == 0f ? va * s : Vector512.FusedMultiplyAdd(va, s, vb * Vector512.Load(c + j)), c + j);
        }
        for (; j < n; j++)
        {
            float s = 0f;
            for (int q = 0; q < k; q++) s = MathF.FusedMultiplyAdd(ai[q], b[(nint)q * ldb + j], s);
            c[j] = beta == 0f ? alpha * s : alpha * s + beta * c[j];
        }
    }

    /// <summary>
    /// C = act(op(A)·op(B) + bias) for n ≤ 16 as row-vector products: op(B) is copied once into k zero-padded rows of
    /// one vector, then each group of eight rows of C accumulates op(A)[i, p]·op(B)[p, :] over p in eight independent
    /// registers and is stored once. No packing of A and no 32-wide tiles that would be mostly padding. With a
    /// transposed A (a weight gradient), whose rows of C are contiguous in A, vectorized over those rows instead
    /// (<see cref="TransposedA"/>; the same sums in the same order). <paramref name="bRows"/> holds k·16 floats. On
    /// <paramref name="threads"/> threads the rows of C split in runs of 32 (each row's sums unchanged) when the
    /// product has at least <see cref="ParallelMultiplyAdds"/>. Not transposed, a k of two whole bands of 32
    /// (<see cref="InHalves"/>) is summed in two halves, each from zero, then added: on any thread count, so that a
    /// banded A (<paramref name="aBands"/>, <paramref name="aStride"/>: the engine's column bands) can sum each half on
    /// the thread that holds it, into <paramref name="halves"/>, and add them after (<paramref name="onlyPart"/> 0 or
    /// 1: that half alone, 2: the adding alone; a transposed banded A: that band's rows of C alone).
    /// </summary>
    public static unsafe void RowVectors(bool ta, bool tb, int m, int n, int k, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, Span<float> c, ReadOnlySpan<float> bias, Activation act, float[] bRows,
        int threads = 1, int aBands = 1, long aStride = 0, int onlyPart = -1, float[]? halves = null)
    {
        if (aBands > 1) CheckBands(ta, m, k, lda, a.Length, aBands, aStride);
        // One row (a forward at batch 1) straight from B, without filling the padded rows (GemmVector.Row); k in
        // halves as the rows below sum it
        if (aBands <= 1 && m == 1 && !tb && (!ta || lda == 1) && k > 0 && a.Length >= k && c.Length >= n
            && b.Length >= (long)(k - 1) * ldb + n)
            fixed (float* pa = a, pb = b, pc = c)
                if (!ta && InHalves(k) ? RowInHalves(pa, pb, ldb, k, n, pc) : GemmVector.Row(pa, pb, ldb, k, n, pc))
                {
                    Epilogue.ApplySpan(c[..n], bias, act);
                    return;
                }
        // a banded A's columns: each half of k summed on the thread that holds its band (HalvesWork), into
        // `halves`, then added on the calling thread; onlyPart 0 or 1 sums that half alone, 2 adds them
        bool apart = aBands > 1 && !ta;
        if (apart && (halves is null || halves.Length < 2 * HalfLength(m)))
            throw new ArgumentException("a banded A's halves need 2·16·⌈m/8⌉·8 floats");
        // one band of a transposed banded A alone, on this thread: op(B)'s rows into this thread's own copy (the
        // calling thread's is the product's; another thread's is its own, never shared between the cores)
        if (onlyPart > 0 && !apart)
        {
            if (t_rows is null || t_rows.Length < k * 16) t_rows = new float[Math.Max(k * 16, 4096)];
            bRows = t_rows;
        }
        fixed (float* pa = a, pb = bRows, pc = c, pbias = bias, src = b, ph = halves)
        {
            var job = new RowsJob
            {
                TransA = ta, TransB = tb, M = m, N = n, K = k, A = pa, Lda = lda, B = pb, Src = src, Ldb = ldb,
                C = pc, Bias = bias.IsEmpty ? null : pbias, Act = act, Bands = Math.Max(aBands, 1),
                BandStride = aStride,
            };
            if (apart)
            {
                float* h0 = ph, h1 = ph + HalfLength(m);
                if (onlyPart is 0 or 1) job.FillAndHalf(onlyPart, onlyPart == 0 ? h0 : h1);
                else if (onlyPart == 2) job.Combine(h0, h1);
                else
                {
                    WorkerPool.Shared.Run(Halves.Set(job, h0, h1), aBands);
                    job.Combine(h0, h1);
                }
                return;
            }
            job.FillRows(0, k);
            // a transposed banded A: one part per band (its rows of C are the band's columns of A)
            int parts = ta && aBands > 1 ? aBands
                : threads > 1 && !RowsSplitOff && (long)m * n * k >= ParallelMultiplyAdds ? Math.Min(threads, m / 32)
                : 1;
            if (onlyPart >= 0)
            {
                if (!ta || aBands <= 1) throw new ArgumentException("one part only of a banded A");
                int w = m / aBands;
                job.Rows(onlyPart * w, (onlyPart + 1) * w);
            }
            else if (parts <= 1) job.Rows(0, m);
            else WorkerPool.Shared.Run(Work.Set(job), parts);
        }
    }

    /// <summary>A thread's own padded rows of op(B) for one band of a product (<c>onlyPart</c>).</summary>
    [ThreadStatic] private static float[]? t_rows;

    /// <summary>True runs every narrow product on one thread (A/B benchmarks).</summary>
    internal static bool RowsSplitOff;

    /// <summary>Multiply-adds from which a narrow product splits over the threads (a few microseconds).</summary>
    internal const long ParallelMultiplyAdds = 1 << 17;

    [ThreadStatic] private static RowsWork? t_work;
    private static RowsWork Work => t_work ??= new RowsWork();

    /// <summary>The parts of a split narrow product: runs of 32 rows of C.</summary>
    private sealed class RowsWork : IParallelWork
    {
        private RowsJob _job;

        public RowsWork Set(in RowsJob job) { _job = job; return this; }

        public void Execute(int index, int count)
        {
            int blocks = (_job.M + 31) / 32;
            int i0 = blocks * index / count * 32, i1 = Math.Min(blocks * (index + 1) / count * 32, _job.M);
            if (i0 < i1) _job.Rows(i0, i1);
        }
    }

    /// <summary>A narrow product's operands, op(B) already in zero-padded rows of 16.</summary>
    private unsafe struct RowsJob
    {
        public bool TransA, TransB;
        public int M, N, K, Lda, Ldb;
        public float* A, B, Src, C, Bias;
        public Activation Act;

        /// <summary>op(B)'s rows [p0, p1) (from <see cref="Src"/>) into <see cref="B"/>, each zero-padded to 16.
        /// </summary>
        public readonly void FillRows(int p0, int p1)
        {
            for (int p = p0; p < p1; p++)
            {
                var row = new Span<float>(B + (nint)p * 16, 16);
                if (TransB) for (int j = 0; j < N; j++) row[j] = Src[(nint)j * Ldb + p];
                else new ReadOnlySpan<float>(Src + (nint)p * Ldb, N).CopyTo(row);
                row[N..].Clear();
            }
        }

        /// <summary>op(B)'s rows of half <paramref name="half"/>, then every row's sums over it (<see cref="Half"/>).
        /// </summary>
        public readonly void FillAndHalf(int half, float* dst)
        {
            FillRows(half * K / 2, (half + 1) * K / 2);
            Half(half, dst);
        }
        /// <summary>A in <see cref="Bands"/> column bands <see cref="BandStride"/> floats apart (1: stored whole).
        /// </summary>
        public int Bands;
        public long BandStride;

        /// <summary>Rows [i0, i1) of C (a transposed A needs at least 16 of them for its vector blocks).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Rows(int i0, int i1)
        {
            int n = N, k = K;
            var bias = Bias == null ? ReadOnlySpan<float>.Empty : new ReadOnlySpan<float>(Bias, n);
            if (TransA && Bands > 1)
            {
                // a banded A's columns: each band's rows of C from that band, at the band's own row stride
                int w = M / Bands;
                for (int band = i0 / w; band * w < i1; band++)
                {
                    int s = Math.Max(i0, band * w), e = Math.Min(i1, (band + 1) * w);
                    var whole = this;
                    whole.A = A + band * BandStride - band * w;
                    whole.Bands = 1;
                    whole.Rows(s, e);
                }
                return;
            }
            if (TransA && i1 - i0 >= 16)
            {
                // A weight gradient xᵀ @ dy: vectorized over the rows of C, which are contiguous
                // in x (GemmNarrow.TransposedA).
                TransposedA(i1 - i0, n, k, A + i0, Lda, B, C + (nint)i0 * n, n);
                if (!bias.IsEmpty || Act != Activation.Identity)
                    for (int i = i0; i < i1; i++) Epilogue.ApplySpan(new Span<float>(C + (nint)i * n, n), bias, Act);
                return;
            }
            // op(A)'s columns (the sums' k) in halves when they are two whole bands of 32 (not transposed): each half
            // summed from zero, then the two added, so a banded A's halves can be summed apart (HalvesWork)
            int segments = !TransA && InHalves(k) ? 2 : 1, width = k / segments;
            float* out8 = stackalloc float[8 * 16];
            float* half8 = stackalloc float[8 * 16];
            int last = i1 - 1;
            for (int i = i0; i < i1; i += 8)
            {
                Segment(i, last, 0, width, out8);
                if (segments == 2) Segment(i, last, 1, width, half8);
                StoreRows(i, Math.Min(8, i1 - i), out8, segments == 2 ? half8 : null);
            }
        }

        /// <summary>C's rows i .. i + rows − 1 from their sums (16 floats a row at <paramref name="sums"/>), plus
        /// the second half's (<paramref name="second"/>, when not null), then the epilogue.</summary>
        private readonly void StoreRows(int i, int rows, float* sums, float* second)
        {
            var bias = Bias == null ? ReadOnlySpan<float>.Empty : new ReadOnlySpan<float>(Bias, N);
            float* v = stackalloc float[16];
            for (int r = 0; r < rows; r++)
            {
                var s = Vector512.Load(sums + (nint)r * 16);
                if (second != null) s += Vector512.Load(second + (nint)r * 16);
                s.Store(v);
                var row = new Span<float>(C + (nint)(i + r) * N, N);
                new ReadOnlySpan<float>(v, N).CopyTo(row);
                Epilogue.ApplySpan(row, bias, Act);
            }
        }

        /// <summary>Rows i .. i+7 (the last repeated past <paramref name="last"/>) of op(A) times op(B)'s rows over
        /// k segment <paramref name="seg"/> of <paramref name="width"/> (the whole k when one), summed from zero into
        /// 8 rows of 16 floats at <paramref name="dst"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Segment(int i, int last, int seg, int width, float* dst)
        {
            float* pb = B;
            nint sp = TransA ? Lda : 1, si = TransA ? 1 : Lda; // A(i, p) = a[i·si + p·sp]
            int p0 = seg * width, p1 = p0 + width;
            float* pa = Bands > 1 ? A + seg * BandStride - p0 : A;
            float* r0 = pa + i * si, r1 = pa + Math.Min(i + 1, last) * si,
                r2 = pa + Math.Min(i + 2, last) * si, r3 = pa + Math.Min(i + 3, last) * si,
                r4 = pa + Math.Min(i + 4, last) * si, r5 = pa + Math.Min(i + 5, last) * si,
                r6 = pa + Math.Min(i + 6, last) * si, r7 = pa + Math.Min(i + 7, last) * si;
            Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default,
                c4 = default, c5 = default, c6 = default, c7 = default;
            nint ap = p0 * sp;
            for (int p = p0; p < p1; p++, ap += sp)
            {
                var bv = Vector512.Load(pb + p * 16);
                c0 = Vector512.FusedMultiplyAdd(Vector512.Create(r0[ap]), bv, c0);
                c1 = Vector512.FusedMultiplyAdd(Vector512.Create(r1[ap]), bv, c1);
                c2 = Vector512.FusedMultiplyAdd(Vector512.Create(r2[ap]), bv, c2);
                c3 = Vector512.FusedMultiplyAdd(Vector512.Create(r3[ap]), bv, c3);
                c4 = Vector512.FusedMultiplyAdd(Vector512.Create(r4[ap]), bv, c4);
                c5 = Vector512.FusedMultiplyAdd(Vector512.Create(r5[ap]), bv, c5);
                c6 = Vector512.FusedMultiplyAdd(Vector512.Create(r6[ap]), bv, c6);
                c7 = Vector512.FusedMultiplyAdd(Vector512.Create(r7[ap]), bv, c7);
            }
            c0.Store(dst); c1.Store(dst + 16); c2.Store(dst + 32); c3.Store(dst + 48);
            c4.Store(dst + 64); c5.Store(dst + 80); c6.Store(dst + 96); c7.Store(dst + 112);
        }

        /// <summary>Half <paramref name="half"/> of every row's sums (not transposed, k in halves) into
        /// <paramref name="dst"/>, 16 floats a row, rows rounded up to 8.</summary>
        public readonly void Half(int half, float* dst)
        {
            for (int i = 0; i < M; i += 8) Segment(i, M - 1, half, K / 2, dst + (nint)i * 16);
        }

        /// <summary>C's rows from the two halves' sums (<see cref="Half"/>): their sum, then the epilogue.</summary>
        public readonly void Combine(float* half0, float* half1) => StoreRows(0, M, half0, half1);
    }
}
