using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>
/// A weight gradient g = op(A)·op(B) whose tiles go straight into an SGD update instead of memory: for each finished
/// tile of g, m' = μ·m + g and w' = w − lr·m' (momentum) or w' = w − lr·g (plain), w, m, w' and m' in
/// <see cref="GemmPanels"/> layout, where a tile's rows are consecutive. The gradient is never stored and the update
/// needs no pass of its own: the full tiles run the micro-kernel with the update in registers
/// (<c>Avx512_14x32_Sgd</c>), edge tiles are computed into a scratch tile and updated from there. The operations and
/// their order are those of the update's streaming pass, so the results are bit-identical to the product followed by
/// that pass. Serves a product with one pass over k (k up to the kernel's KC: the batch of a
/// dense layer's weight gradient).
/// </summary>
internal static unsafe class GemmUpdate
{
    /// <summary>The weight tiles of the update, pinned, as the driver sees them.</summary>
    internal struct Tiles
    {
        public bool Active;
        public float* W, M, NewW, NewM;
        public float Mu, Lr;
        /// <summary>Set to 1 (by any thread) when a result is NaN or infinite.</summary>
        public int* Bad;
    }

    /// <summary>
    /// The update for a gradient of n columns (a multiple of 32) and m rows, where op(A) is m×k and op(B) k×n as in
    /// <see cref="Gemm.Multiply(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int,
    /// bool, float, Span{float}, int, bool, ReadOnlySpan{float}, Activation, int)"/>
    /// (B may be in panel layout). <paramref name="m0"/> and <paramref name="newM"/> are empty for plain SGD. Returns
    /// false, having done nothing, when the product takes more than one pass over k or k is 0: the caller then runs
    /// the product and the update apart. <paramref name="nonFinite"/> is set when an updated value is NaN or infinite.
    /// </summary>
    public static bool TryMultiply(bool transA, bool transB, int m, int n, int k, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, bool bPanels, ReadOnlySpan<float> w, ReadOnlySpan<float> m0, float mu, float lr,
        Span<float> newW, Span<float> newM, int threads, out bool nonFinite, GemmBands bands = default,
        int onlyBand = -1)
    {
        nonFinite = false;
        var kern = MicroKernel.Select(Gemm.Isa, n);
        if (k <= 0 || m <= 0 || kern.PassDepth(k) < k) return false;
        if (!GemmPanels.Fits(m, n))
            KernelThrow.Argument(nameof(n), "the update's tiles are in panel layout: a positive multiple of " +
                $"{GemmPanels.Width} columns (got {m}×{n})");
        long len = (long)m * n;
        KernelThrow.CheckLength(nameof(w), len, w.Length);
        KernelThrow.CheckLength(nameof(newW), len, newW.Length);
        if (!m0.IsEmpty)
        {
            KernelThrow.CheckLength(nameof(m0), len, m0.Length);
            KernelThrow.CheckLength(nameof(newM), len, newM.Length);
        }
        int bad = 0;
        fixed (float* pw = w, pm = m0, pnw = newW, pnm = newM)
        {
            var u = new Tiles
            {
                Active = true, W = pw, M = m0.IsEmpty ? null : pm, NewW = pnw, NewM = m0.IsEmpty ? null : pnm,
                Mu = mu, Lr = lr, Bad = &bad
            };
            Gemm.Multiply(transA, transB, m, n, k, 1f, a, lda, b, ldb, bPanels, 0f, Span<float>.Empty, n, true,
                ReadOnlySpan<float>.Empty,
                Activation.Identity, threads, u, bands: bands, onlyBand: onlyBand);
        }
        nonFinite = bad != 0;
        return true;
    }

    /// <summary>The update of an mr×nr tile of g held at <paramref name="tile"/> (row stride <paramref name="ldt"/>),
    /// whose first element is at <paramref name="offset"/> in the panel-layout weights (row stride 32); the
    /// check as the kernel's.</summary>
    internal static void ApplyTile(in Tiles u, float* tile, int ldt, int mr, int nr, nint offset, float* check)
    {
        float ck = 0f;
        for (int i = 0; i < mr; i++)
        {
            nint o = offset + (nint)i * GemmPanels.Width;
            float* g = tile + (nint)i * ldt;
            for (int j = 0; j < nr; j++)
            {
                float step = u.M == null ? g[j] : u.Mu * u.M[o + j] + g[j];
                if (u.M != null) { u.NewM[o + j] = step; ck += step - step; }
                float nw = u.W[o + j] - u.Lr * step;
                u.NewW[o + j] = nw;
                ck += nw - nw;
            }
        }
        check[0] += ck;
    }

    /// <summary>Reports a thread's check (16 floats, NaN in one when a result was not finite)
    /// into the shared flag.</summary>
    internal static void Report(in Tiles u, float* check)
    {
        if (!(Vector512.Sum(Vector512.Load(check)) == 0f)) Interlocked.Exchange(ref *u.Bad, 1);
    }
}
