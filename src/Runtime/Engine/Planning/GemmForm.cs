using System.Runtime.Intrinsics;
using Nn.Runtime.Engine.Lowering;
using Nn.Runtime.IR;

namespace Nn.Runtime.Engine.Planning;

/// <summary>The sizes that decide how a matrix product runs, in one place so that the planner's choices
/// (<see cref="WeightLayout"/>) and the binder's (<c>Codegen.GemmKernels</c>) agree.</summary>
internal static class GemmForm
{
    /// <summary>Below this many multiply-adds a product runs as a plain loop (no packing, no dispatch).</summary>
    public const long SmallProduct = 4096;

    /// <summary>Products at most this many columns wide skip packing (<c>GemmNarrow.RowVectors</c>): the packed
    /// kernel's tiles would be mostly padding.</summary>
    public const int NarrowColumns = 16;

    /// <summary>A product's sizes as bound: op(A) m×k, op(B) k×n, <c>Batches</c> products of a batched B, leading
    /// dimensions, and the path it takes (<c>Small</c>: a plain loop; <c>Narrow</c>: row vectors; else packed).
    /// </summary>
    internal readonly record struct Sizes(int M, int N, int K, int Lda, int Ldb, int Batches, bool BPanels,
        bool CPanels, bool Small, bool Narrow);

    /// <summary>The sizes of <paramref name="g"/> with the shapes and the panel layout given.</summary>
    public static Sizes Of(GemmKernel g, Func<Node, int[]> shape, Func<Node, bool> panels)
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
        bool small = (long)m * n * k <= SmallProduct && !bPanels && !cPanels;
        bool narrow = !small && !bPanels && !cPanels && Vector512.IsHardwareAccelerated && n <= NarrowColumns;
        return new(m, n, k, lda, ldb, batches, bPanels, cPanels, small, narrow);
    }
}
