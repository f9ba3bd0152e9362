using System.Runtime.Intrinsics;
using Nn.Runtime.Engine.Planning;
using Nn.Runtime.IR;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.Engine.Lowering;

/// <summary>Binds a <see cref="GemmKernel"/> to the packed GEMM; tiny products, where packing costs more than the
/// arithmetic, run as a direct loop with the same epilogue, and narrow ones (at most
/// <see cref="GemmForm.NarrowColumns"/> columns: a classifier's logits and its weight gradient) as row-vector
/// products (<see cref="GemmNarrow.RowVectors"/>).</summary>
internal static class GemmKernels
{
    /// <summary>A product's operands as bound: slots, sizes, flags.</summary>
    internal readonly record struct Operands(bool TransA, bool TransB, int M, int N, int K, int A, int ALength,
        int Lda, int B, int BLength, int Ldb, bool BPanels, int Threads, GemmBands Bands = default);

    /// <summary>A product's sizes as bound: op(A) m×k, op(B) k×n, <c>Batches</c> products of a batched B, leading
    /// dimensions, and the path it takes (<c>Small</c>: a plain loop; <c>Narrow</c>: row vectors; else packed).
    /// </summary>
    internal readonly record struct Sizes(int M, int N, int K, int Lda, int Ldb, int Batches, bool BPanels,
        bool CPanels, bool Small, bool Narrow);

    /// <summary>The sizes of <paramref name="g"/> with the shapes and the panel layout given.</summary>
    public static Sizes SizesOf(GemmKernel g, Func<Node, int[]> shape, Func<Node, bool> panels)
    {
        int[] sa = shape(g.A), sb = shape(g.B), so = shape(g.MatMul);
        bool shared = sb.Length == 2;
        int m, k, n, lda, ldb;
        if (g.TransA) { k = sa[^2]; m = sa[^1]; lda = m; }
        else { k = sa[^1]; m = shared ? NodeKernels.Count(sa) / Math.Max(k, 1) : sa[^2]; lda = k; }
        if (k == 0) m = shared ? NodeKernels.Count(so) / Math.Max(so[^1], 1) : so[^2];
        if (g.TransB) { n = sb[^2]; ldb = k; } else { n = sb[^1]; ldb = n; }
        int batches = shared ? 1 : NodeKernels.Count(so) / Math.Max(m * n, 1);
        bool bPanels = panels(g.B), cPanels = panels(g.Output);
        bool small = (long)m * n * k <= GemmForm.SmallProduct && !bPanels && !cPanels;
        bool narrow = !small && !bPanels && !cPanels && Vector512.IsHardwareAccelerated && n <= GemmForm.NarrowColumns;
        return new(m, n, k, lda, ldb, batches, bPanels, cPanels, small, narrow);
    }

    /// <summary>The product's kernel; with <paramref name="update"/>, the weight gradient's SGD update applied to
    /// its tiles.</summary>
    public static Action Build(GemmKernel g, BindContext c, UpdateRunner? update = null) =>
        Build(g, c, update, out _);

    /// <summary>As <see cref="Build(GemmKernel, BindContext, UpdateRunner?)"/>; <paramref name="band"/> runs one band
    /// of a product over column bands alone, on the calling thread, with what a band touches by halves
    /// (<see cref="BandChains"/>), null for other products.</summary>
    public static Action Build(GemmKernel g, BindContext c, UpdateRunner? update, out BandChains.Kernel? band)
    {
        var S = c.Slots;
        var f = SizesOf(g, c.Shape, c.Panels);
        int m = f.M, n = f.N, k = f.K, lda = f.Lda, ldb = f.Ldb, batches = f.Batches;
        bool shared = c.Shape(g.B).Length == 2;
        int aLen = m * k, bLen = k * n, cLen = m * n;
        int ia = c.Slot(g.A), ib = c.Slot(g.B), ic = c.Slot(g.Output), ibias = g.Bias is null ? -1 : c.Slot(g.Bias);
        bool bPanels = f.BPanels, cPanels = f.CPanels;
        if (c.Panels(g.A) || (bPanels || cPanels) && batches != 1)
            throw Throw.Bug($"{g.Output}: panel layout for an operand the product cannot read so");
        bool ta = g.TransA, tb = g.TransB, small = f.Small, narrow = f.Narrow;
        // operands stored as column bands (ColumnBands): B and C at the band's width as row stride, A by its own path
        int nb = ColumnBands.Count;
        bool aBand = c.Banded(g.A), bBand = c.Banded(g.B), cBand = c.Banded(g.Output);
        if ((aBand || bBand || cBand) && (small || batches != 1 || aBand && !narrow || (bBand || cBand) && narrow))
            throw Throw.Bug($"{g.Output}: column bands for a product that cannot run so");
        var bands = new GemmBands(bBand || cBand ? nb : 0, bBand ? (long)k * (n / nb) : 0,
            cBand ? (long)m * (n / nb) : 0);
        if (bBand) ldb = n / nb;
        int ldc = cBand ? n / nb : n;
        long aStride = !aBand ? 0 : ta ? (long)k * (m / nb) : (long)m * (k / nb);
        if (aBand) lda = ta ? m / nb : k / nb;
        var act = g.Activation;
        int threads = c.Threads;
        // op(B) as k zero-padded vectors: allocated here once, filled per product; a banded A's halves' sums
        var bRows = narrow ? new float[(long)k * 16] : [];
        var halves = narrow && aBand && !ta ? new float[2 * GemmNarrow.HalfLength(m)] : null;
        var weights = c.SkipZeroColumns && g.B.Op is OpKind.Param or OpKind.State ? new FiniteWeights() : null;
        void Product(int only)
        {
            float[] A = S[ia], B = S[ib], C = S[ic];
            bool bFinite = weights != null && weights.Finite(B);
            var bias = ibias < 0 ? ReadOnlySpan<float>.Empty : S[ibias].AsSpan(0, n);
            for (int t = 0; t < batches; t++)
            {
                var a = A.AsSpan(t * aLen, aLen); var b = B.AsSpan(shared ? 0 : t * bLen, bLen);
                var cc = C.AsSpan(t * cLen, cLen);
                if (small) Direct(ta, tb, m, n, k, a, lda, b, ldb, cc, bias, act);
                else if (narrow)
                    GemmNarrow.RowVectors(ta, tb, m, n, k, a, lda, b, ldb, cc, bias, act, bRows, threads,
                        aBand ? nb : 1, aStride, only, halves);
                else
                    Gemm.Multiply(ta, tb, m, n, k, 1f, a, lda, b, ldb, bPanels, 0f, cc, ldc, cPanels, bias, act,
                        threads, default, bFinite, bands, only);
            }
        }
        Action product = () => Product(-1);
        bool parts = batches == 1 && (bands.Active || aBand && narrow);
        if (update is null)
        {
            // a banded A's halves are added after both parts
            band = !parts ? null
                : new BandChains.Kernel(Product, Halves(g, c)) { Finish = halves is null ? null : () => Product(2) };
            return product;
        }
        if (!cPanels || batches != 1 || ibias >= 0 || act != Activation.Identity)
            throw Throw.Bug($"{g.Output}: an update inside a product that is not a plain weight gradient in panels");
        var operands = new Operands(ta, tb, m, n, k, ia, aLen, lda, ib, bLen, ldb, bPanels, threads, bands);
        band = parts ? new BandChains.Kernel(i => update.RunWithPart(operands, i, Product), Halves(g, c), update.Clear)
            : null;
        return () => update.RunWith(operands, product);
    }

    /// <summary>The values a band of <paramref name="g"/> touches by halves: its banded operands, and the weight-like
    /// operands it reads or writes one band of columns of (in panel layout, or a transposed B: rows), the bias; the
    /// rows of C of a transposed banded A, op(B)'s rows of one not transposed (C is written after both halves,
    /// <see cref="BandChains.Kernel.Finish"/>).</summary>
    private static HashSet<Node> Halves(GemmKernel g, BindContext c)
    {
        var halves = new[] { g.A, g.B, g.Output }.Where(c.Banded).ToHashSet();
        if (c.Banded(g.A) && g.TransA) halves.Add(g.Output);
        else if (c.Banded(g.A)) { if (!g.TransB) halves.Add(g.B); }
        else
        {
            if (c.Panels(g.B) || g.TransB) halves.Add(g.B);
            if (c.Panels(g.Output)) halves.Add(g.Output);
            if (g.Bias is { } bias && NodeKernels.Count(c.Shape(bias)) > 1) halves.Add(bias);
        }
        return halves;
    }

    /// <summary>Whether a weight array holds only finite values, checked once per array: the predict-only executor's
    /// Params and States are written only by a load, which gives each value a new array (FusedExecutor.Load), so the
    /// array the slot points at when the product runs is the one checked, or a new one checked then.</summary>
    internal sealed class FiniteWeights
    {
        private float[]? _checked;
        private bool _finite;

        public bool Finite(float[] b)
        {
            if (!ReferenceEquals(b, _checked)) { _finite = ElementOps.AllFinite(b); _checked = b; }
            return _finite;
        }
    }

    private static void Direct(bool ta, bool tb, int m, int n, int k, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, Span<float> c, ReadOnlySpan<float> bias, Activation act)
    {
        // Rows of A read in place (not transposed, or one row): the same sums vectorized over the columns
        // (GemmVector.RowSeparate), the bits of the loop below; a forward at batch 1 takes this path often.
        if (!tb && (!ta || m == 1))
        {
            int i = 0;
            while (i < m && GemmVector.RowSeparate(a.Slice(i * lda, k), b, ldb, k, n, c.Slice(i * n, n))) i++;
            if (i == m)
            {
                for (i = 0; i < m; i++) Epilogue.ApplySpan(c.Slice(i * n, n), bias, act);
                return;
            }
        }
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * n, n);
            for (int j = 0; j < n; j++)
            {
                float s = 0f;
                for (int p = 0; p < k; p++)
                    s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
                row[j] = s;
            }
            Epilogue.ApplySpan(row, bias, act);
        }
    }
}
