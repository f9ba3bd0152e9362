namespace Nn.Runtime.Kernels;

/// <summary>
/// A product's operands stored as column bands (the engine's <c>Lowering.ColumnBands</c>): a matrix of r rows and n
/// columns held as <see cref="Count"/> r×(n/Count) matrices one after the other, band b (columns [b·w, (b+1)·w), w =
/// n/Count) starting <c>b·stride</c> floats in. Part b of the product (the pool's thread b) computes C's columns of
/// band b, reading and writing only band b of a banded B or C: the values a layer's hidden units produce stay in the
/// core that computes them from one kernel to the next (issue #18). <see cref="BStride"/> and <see cref="CStride"/> are
/// 0 for an operand stored whole (B not transposed when banded; C and B then get the band's width as their row stride).
/// </summary>
internal readonly record struct GemmBands(int Count, long BStride, long CStride)
{
    /// <summary>Whether the product runs band by band.</summary>
    public bool Active => Count > 1;

    /// <summary>Band <paramref name="band"/> of <paramref name="p"/>: its columns [lo, hi) and the problem whose B and
    /// C pointers address the band's storage at C's global column indices (a shifted base, so the driver's column
    /// arithmetic, the bias's and the panels' are unchanged).</summary>
    public static unsafe (GemmProblem Problem, int Lo, int Hi) Band(in GemmProblem p, int band)
    {
        var b = p.Bands;
        int w = p.N / b.Count, lo = band * w;
        var q = p;
        if (b.BStride != 0) q.B = p.B + band * b.BStride - lo;
        if (b.CStride != 0) q.C = p.C + band * b.CStride - lo;
        return (q, lo, lo + w);
    }

    /// <summary>Computes band <paramref name="band"/> of <paramref name="p"/> on the calling thread.</summary>
    public static void Run(in GemmProblem p, int band)
    {
        var (q, lo, hi) = Band(in p, band);
        GemmDriver.Run(in q, 0, q.M, lo, hi);
    }
}
