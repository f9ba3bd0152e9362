using Nn.Runtime.IR;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.Engine.Lowering;

/// <summary>What a single-node kernel needs at bind time: the slot table, each node's slot and concrete
/// shape.</summary>
internal sealed record BindContext(float[][] Slots, Func<Node, int> Slot, Func<Node, int[]> Shape, int Threads,
    Func<Node, float[]> Workspace, StepContext Step)
{
    /// <summary>Whether a node's value is stored in panel layout (<see cref="Planning.Plan.Panels"/>).</summary>
    public Func<Node, bool> Panels { get; init; } = _ => false;
    /// <summary>Products whose B is a Param or State may skip A's zero columns when its values are finite
    /// (<see cref="GemmKernels"/>): the predict-only executor, whose weights change only by a load.</summary>
    public bool SkipZeroColumns { get; init; }
    /// <summary>Whether a node's value is stored as column bands (<see cref="ColumnBands"/>).</summary>
    public Func<Node, bool> Banded { get; init; } = _ => false;
}

/// <summary>
/// Builds the kernel for one node as a closure over the slot table: the fast library kernels where the shapes fit
/// (row-wise softmax, column/row sums, im2col convolution) and allocation-free generic loops otherwise
/// (reductions over any axes, strided softmax, arg-max, layout copies through index maps built here once).
/// Every closure reads its buffers from the slot table when called, so sources can be re-pointed per step.
/// </summary>
internal static class NodeKernels
{
    public static Action Build(Node n, Node[] ops, BindContext c) => Build(n, ops, c, out _);

    /// <summary>As <see cref="Build(Node, Node[], BindContext)"/>; <paramref name="band"/> runs one band of a kernel
    /// over column bands alone, with what it touches by halves (<see cref="BandChains"/>), null for others.</summary>
    public static Action Build(Node n, Node[] ops, BindContext c, out BandChains.Kernel? band)
    {
        band = null;
        var S = c.Slots;
        int dst = c.Slot(n);
        int[] shape = c.Shape(n);
        int[] src = ops.Select(c.Slot).ToArray();
        int[][] inShapes = ops.Select(c.Shape).ToArray();
        int count = Count(shape);
        var a = n.Attrs;
        switch (n.Op)
        {
            case OpKind.Sum or OpKind.Mean when c.Banded(ops[0]):
            {
                var sums = Reductions.BandedColumnSums(n.Op == OpKind.Mean, inShapes[0], S, src[0], dst, out var part);
                band = new BandChains.Kernel(part, new HashSet<Node> { n, ops[0] }); // the band's columns of each
                return sums;
            }
            case OpKind.Sum or OpKind.Mean or OpKind.ReduceMax:
                return Reductions.Build(n.Op, inShapes[0], a.Axes, S, src[0], dst);
            case OpKind.Softmax or OpKind.LogSoftmax:
            {
                int axis = Axis(a.Axes.Length > 0 ? a.Axes[0] : -1, shape.Length);
                bool log = n.Op == OpKind.LogSoftmax;
                if (axis == shape.Length - 1)
                {
                    int cols = shape[^1];
                    if (cols == 0) return () => { };
                    return log ? () => Rows.LogSoftmax(S[src[0]].AsSpan(0, count), S[dst].AsSpan(0, count), cols)
                               : () => Rows.Softmax(S[src[0]].AsSpan(0, count), S[dst].AsSpan(0, count), cols);
                }
                var (outer, size, inner) = Lines(shape, axis);
                return () => Strided.Softmax(S[src[0]], S[dst], outer, size, inner, log);
            }
            case OpKind.ArgMax:
            {
                var (outer, size, inner) =
                    Lines(inShapes[0], Axis(a.Axes.Length > 0 ? a.Axes[0] : -1, inShapes[0].Length));
                return () => Strided.ArgMax(S[src[0]], S[dst], outer, size, inner);
            }
            case OpKind.OneHot:
            {
                int width = a.Width!.Value, rows = count / Math.Max(width, 1);
                return () => Strided.OneHot(S[src[0]], S[dst].AsSpan(0, count), rows, width);
            }
            case OpKind.DropoutMask:
            {
                var mask = new DropoutMask(c.Step, a.Stream!.Value);
                double p = a.Value;
                int rowSize = shape.Length == 0 || shape[0] == 0 ? 0 : count / shape[0];
                return () => mask.Fill(S[dst].AsSpan(0, count), p, rowSize);
            }
            case OpKind.RankSum:
            {
                var step = c.Step; // read when the kernel runs: the executor sets or clears the ranks per step
                return () =>
                {
                    S[src[0]].AsSpan(0, count).CopyTo(S[dst].AsSpan(0, count));
                    step.Ranks?.Sum(S[dst].AsSpan(0, count));
                };
            }
            case OpKind.Transpose or OpKind.Slice:
            {
                var map = n.Op == OpKind.Transpose
                    ? Maps.Transpose(inShapes[0], a.Perm!)
                    : Maps.Slice(inShapes[0], a.Slice!.Starts, shape);
                return () => Maps.Gather(S[src[0]], S[dst], map);
            }
            case OpKind.Pad:
            {
                var map = Maps.Pad(inShapes[0], a.Pad!.Before, shape);
                int inCount = Count(inShapes[0]);
                return () => Maps.Scatter(S[src[0]].AsSpan(0, inCount), S[dst].AsSpan(0, count), map);
            }
            case OpKind.Concat:
            {
                int axis = Axis(a.Axes.Length > 0 ? a.Axes[0] : 0, shape.Length);
                int outer = Count(shape[..axis]), inner = Count(shape[(axis + 1)..]);
                int[] rows = inShapes.Select(s => s[axis] * inner).ToArray();
                int outRow = shape[axis] * inner;
                return () =>
                {
                    int at = 0;
                    for (int i = 0; i < src.Length; i++)
                    {
                        var x = S[src[i]];
                        for (int o = 0; o < outer; o++) Array.Copy(x, o * rows[i], S[dst], o * outRow + at, rows[i]);
                        at += rows[i];
                    }
                };
            }
            case OpKind.Gather:
            {
                int v = inShapes[0][0], d = inShapes[0][1], ids = Count(inShapes[1]);
                return () => Indexed.Gather(n, S[src[0]], S[src[1]], S[dst], ids, v, d);
            }
            case OpKind.ScatterAdd:
            {
                int v = shape[0], d = shape[1], ids = Count(inShapes[1]);
                return () => Indexed.ScatterAdd(n, S[src[0]], S[src[1]], S[dst].AsSpan(0, count), ids, v, d);
            }
            case OpKind.Conv2d or OpKind.Conv2dGradInput or OpKind.Conv2dGradKernel:
                return Convolution(n, src, inShapes, shape, c);
            case OpKind.MaxPool2d or OpKind.AvgPool2d or OpKind.MaxPool2dGrad or OpKind.AvgPool2dGrad:
                return Pooling.Build(n.Op, a.Pool!, inShapes, shape, S, src, dst);
            default: return Fallback.Build(n, ops, c);
        }
    }

    private static Action Convolution(Node n, int[] src, int[][] inShapes, int[] shape, BindContext c)
    {
        var S = c.Slots;
        int dst = c.Slot(n), threads = c.Threads;
        var conv = n.Attrs.Conv!;
        int[] x = n.Op == OpKind.Conv2dGradInput ? shape : inShapes[0];
        int[] k = n.Op switch { OpKind.Conv2d => inShapes[1], OpKind.Conv2dGradInput => inShapes[1], _ => shape };
        int[] y = n.Op switch { OpKind.Conv2d => shape, OpKind.Conv2dGradInput => inShapes[0], _ => inShapes[1] };
        var s = Conv2dShape.Create(x[0], x[1], x[2], x[3], k[0], k[1], k[3], conv.StrideH, conv.StrideW,
            conv.Pads.ToPadding());
        if (s.OutHeight != y[1] || s.OutWidth != y[2])
            throw Throw.Bug($"{n}: a conv2d output of {y[1]}×{y[2]} where its geometry gives " +
                $"{s.OutHeight}×{s.OutWidth}");
        var ws = c.Workspace(n);
        int xl = s.InputLength, kl = s.KernelLength, yl = s.OutputLength;
        return n.Op switch
        {
            OpKind.Conv2d => () => Conv2d.Forward(s, S[src[0]].AsSpan(0, xl), S[src[1]].AsSpan(0, kl),
                S[dst].AsSpan(0, yl), ws, threads),
            OpKind.Conv2dGradInput => () => Conv2d.BackwardInput(s, S[src[0]].AsSpan(0, yl), S[src[1]].AsSpan(0, kl),
                S[dst].AsSpan(0, xl), ws, threads),
            _ => () => Conv2d.BackwardKernel(s, S[src[0]].AsSpan(0, xl), S[src[1]].AsSpan(0, yl),
                S[dst].AsSpan(0, kl), ws, 0f, threads),
        };
    }

    /// <summary>The workspace floats a convolution node needs (0 for other nodes).</summary>
    public static long WorkspaceLength(Node n, int[] shape, int[][] inShapes)
    {
        if (n.Op is not (OpKind.Conv2d or OpKind.Conv2dGradInput or OpKind.Conv2dGradKernel)) return 0;
        int[] x = n.Op == OpKind.Conv2dGradInput ? shape : inShapes[0];
        int[] k = n.Op == OpKind.Conv2dGradKernel ? shape : inShapes[1];
        int[] y = n.Op switch { OpKind.Conv2d => shape, OpKind.Conv2dGradInput => inShapes[0], _ => inShapes[1] };
        return (long)y[0] * y[1] * y[2] * k[0] * k[1] * x[3];
    }

    public static int Count(int[] s) { int c = 1; foreach (var d in s) c *= d; return c; }
    public static int Axis(int axis, int rank) => axis < 0 ? axis + rank : axis;

    public static (int Outer, int Size, int Inner) Lines(int[] shape, int axis) =>
        (Count(shape[..axis]), shape[axis], Count(shape[(axis + 1)..]));
}
