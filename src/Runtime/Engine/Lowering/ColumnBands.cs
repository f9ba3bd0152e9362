using System.Runtime.Intrinsics;
using Nn.Runtime.Engine.Planning;
using Nn.Runtime.IR;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.Engine.Lowering;

/// <summary>
/// Which values of a program bound on two threads (at bind time: the decision needs the sizes and the threads) are
/// stored as column bands (<see cref="GemmBands"/>): a hidden
/// layer's activations and their gradients, [rows, n] held as two [rows, n/2] matrices, so that the thread that
/// computes a layer's units 0..n/2 (the forward product split by the weight's columns, which that thread also
/// updates) keeps those columns of every value derived from them, in its own core, from the forward product to the
/// weight gradient: the relu, its gradient and the bias gradient band by band, the logits' product and the
/// classifier's weight gradient reading each band where it was written. Stored whole (row-major), each row's two
/// halves belong to different threads and the step's small kernels move them between the cores every step; on this
/// project's 2-vCPU machines that cost the 784-256-10 step ~20 µs of ~210 (issue #18, bench/README.md).
/// A value is banded only when every kernel that reads or writes it serves bands: a product that writes it or reads it
/// as B, split by columns (a packed product that splits so anyway: weights in panel layout whose half fits a core's
/// cache, or a small product); a narrow product (at most 16 columns) reading it as A; a fused loop over exactly its
/// shape whose every operand is banded, a member, a constant or a scalar; a sum over its rows. Never an output, a
/// source, a view, panels, a value under 32 rows or whose columns are not two whole bands of 32.
/// </summary>
internal static class ColumnBands
{
    /// <summary>The number of bands: the threads of this project's machines (a program on more threads bands
    /// nothing).</summary>
    public const int Count = 2;

    /// <summary>True bands nothing on this thread (A/B benchmarks and tests).</summary>
    [ThreadStatic] internal static bool Off;

    /// <summary>Per node id, whether its value is banded in <paramref name="plan"/> bound to
    /// <paramref name="shapes"/> on <paramref name="threads"/> threads.</summary>
    public static bool[] Mark(Plan plan, int[][] shapes, int threads)
    {
        var g = plan.Graph;
        var band = new bool[g.Nodes.Count];
        if (Off || threads != Count || !Vector512.IsHardwareAccelerated) return band;
        var viewed = new bool[g.Nodes.Count];
        foreach (var x in g.Nodes) if (plan.ViewOf[x.Id] >= 0) viewed[plan.ViewOf[x.Id]] = true;
        foreach (var x in g.Nodes)
            band[x.Id] = shapes[x.Id] is [>= 32, var n] && n % (Count * GemmPanels.Width) == 0
                && plan.Storage[x.Id] == Storage.Buffer && plan.ViewOf[x.Id] < 0 && !viewed[x.Id] && !x.IsSource
                && !plan.Panels[x.Id];
        foreach (var o in g.Outputs) band[o.Value.Id] = false;
        var touched = new bool[g.Nodes.Count];
        foreach (var k in plan.Kernels)
            foreach (var x in k.Reads.Concat(k.Writes)) touched[x.Id] = true;
        for (int id = 0; id < band.Length; id++) band[id] &= touched[id];
        foreach (var k in plan.Kernels)
            foreach (var x in k.Reads.Concat(k.Writes).Distinct())
                if (band[x.Id] && !Serves(k, x, plan, shapes)) band[x.Id] = false;
        // a loop's values are banded all together or not at all
        for (bool changed = true; changed;)
        {
            changed = false;
            foreach (var loop in plan.Kernels.OfType<FusedLoop>())
            {
                var values = Whole(loop, shapes);
                if (values is null || values.Any(v => !band[v.Id]))
                    foreach (var v in loop.Reads.Concat(loop.Writes))
                        if (band[v.Id]) { band[v.Id] = false; changed = true; }
            }
        }
        return band;
    }

    /// <summary>Whether kernel <paramref name="k"/> serves <paramref name="x"/> banded (loops: <see cref="Whole"/>).
    /// </summary>
    private static bool Serves(PlanKernel k, Node x, Plan plan, int[][] shapes)
    {
        switch (k)
        {
            case FusedLoop:
                return true;
            case NodeKernel { Node.Op: OpKind.Sum or OpKind.Mean } r:
                return r.Operands.Length == 1 && r.Operands[0] == x && r.Node.Attrs.Axes is [0]
                    && shapes[r.Node.Id] is [1, _] or [_];
            case GemmKernel p:
            {
                var roles = (p.A == x ? 1 : 0) + (p.B == x ? 1 : 0) + (p.Output == x ? 1 : 0) + (p.Bias == x ? 1 : 0);
                if (roles != 1 || p.Bias == x) return false;
                var f = GemmKernels.SizesOf(p, n => shapes[n.Id], n => plan.Panels[n.Id]);
                if (f.Batches != 1 || f.K == 0 || f.Small) return false;
                if (f.Narrow) return p.A == x; // its rows (not transposed) or its columns' rows of C, band by band
                if (p.A == x || p.B == x && p.TransB) return false;
                // a packed product splits by C's columns: when small, or when its weight's half stays in a core
                long half = (long)f.N / Count;
                return (long)f.M * f.N * f.K <= SmallProductMultiplyAdds
                    || f.BPanels && !p.TransB && f.K * half <= WeightHalfFloats
                    || f.CPanels && f.M * half <= WeightHalfFloats;
            }
            default:
                return false;
        }
    }

    /// <summary>A packed product at most this large splits by columns whatever its weights (4 M multiply-adds).
    /// </summary>
    internal const long SmallProductMultiplyAdds = 1 << 22;

    /// <summary>A weight's half that stays in a core's L2 (1 MiB of floats), as the packed product's own column split
    /// (<c>GemmJob.KeepsWeightColumns</c>).</summary>
    internal const long WeightHalfFloats = 256 << 10;

    /// <summary>The values a loop reads from and stores to buffers when every one has the loop's own two-axis shape
    /// and nothing else is read but members, constants and one-element buffers; null when the loop reads anything
    /// through a broadcast or a slice (its elements are then not the same in both layouts).</summary>
    private static List<Node>? Whole(FusedLoop loop, int[][] shapes)
    {
        var domain = shapes[loop.Ops[0].Node.Id];
        if (domain.Length != 2) return null;
        var members = loop.Ops.Select(o => o.Node).ToHashSet();
        var values = new List<Node>();
        foreach (var op in loop.Ops)
        {
            if (op.Node.Op == OpKind.Slice) return null;
            if (op.Store) values.Add(op.Node);
            foreach (var x in op.Operands)
            {
                if (members.Contains(x) || Binder.IsConstant(x)) continue;
                var sx = shapes[x.Id];
                if (NodeKernels.Count(sx) == 1) continue;
                if (!sx.SequenceEqual(domain)) return null;
                values.Add(x);
            }
        }
        return values;
    }
}
