using Nn.Runtime.IR;

namespace Nn.Runtime.Rewrite;

/// <summary>Constant folding: a node whose operands are all constants, and whose value is again one number
/// repeated, becomes a Const of its shape. The number is computed by <see cref="ScalarOps{T}"/> in float64,
/// the same code the interpreter runs. Random and label ops (DropoutMask, OneHot, ArgMax) are never folded.
/// A Where with a constant condition becomes the branch it picks.</summary>
public static class ConstantFolding
{
    /// <summary>The graph with constant subgraphs folded.</summary>
    public static Graph Run(Graph graph) => Rebuild.Run(graph, Fold);

    /// <summary>The folding rule for one node (usable inside other rewrites).</summary>
    public static Node? Fold(GraphBuilder b, Node old, Node[] x)
    {
        // a constant condition picks a branch, whatever the branches are
        if (old.Op == OpKind.Where && x[0].Op == OpKind.Const)
        {
            var chosen = x[0].Attrs.Value != 0 ? x[1] : x[2];
            if (chosen.Shape.Equals(old.Shape)) return chosen;
            if (ShapeRules.BroadcastsTo(chosen.Shape, old.Shape)) return b.Broadcast(chosen, old.Shape, old.Span);
        }
        if (old.IsSource || x.Length == 0 || x.Any(i => i.Op != OpKind.Const)) return null;
        var v = x.Select(i => i.Attrs.Value).ToArray();
        double? value = old.Op switch
        {
            >= OpKind.Neg and <= OpKind.Step => ScalarOps<double>.Unary(old.Op, v[0], old.Attrs.Value),
            >= OpKind.Add and <= OpKind.Equal => ScalarOps<double>.Binary(old.Op, v[0], v[1]),
            OpKind.Where => v[0] != 0 ? v[1] : v[2],
            OpKind.Transpose or OpKind.Reshape or OpKind.Broadcast or OpKind.Slice or OpKind.Mean or OpKind.ReduceMax => v[0],
            OpKind.Concat when v.All(u => u.Equals(v[0])) => v[0],
            OpKind.Pad when v[0] == 0 => 0,
            OpKind.Sum => ReducedCount(x[0].Shape, old.Attrs.Axes) is long n ? v[0] * n : null,
            OpKind.Softmax => x[0].Shape[old.Attrs.Axes[0]] is { IsFixed: true } d ? 1.0 / d.Size : null,
            OpKind.LogSoftmax => x[0].Shape[old.Attrs.Axes[0]] is { IsFixed: true } d ? -Math.Log(d.Size) : null,
            _ => null,
        };
        return value is double c ? b.Const(c, old.Span, old.Shape) : null;
    }

    /// <summary>The number of elements summed into each result element, when fixed.</summary>
    private static long? ReducedCount(Shape s, int[] axes)
    {
        var over = axes.Length == 0 ? Enumerable.Range(0, s.Rank) : axes;
        long n = 1;
        foreach (var a in over)
        {
            if (!s[a].IsFixed) return null;
            n *= s[a].Size;
        }
        return n;
    }
}
