using Nn.Runtime.IR;

namespace Nn.Runtime.Rewrite;

/// <summary>
/// Algebraic simplification and numerically stable forms, each rule local to one node:
/// <c>x·1, 1·x, x+0, 0+x, x−0, x/1, x**1 → x</c>; <c>0−x → −x</c>; <c>x·0, 0·x → 0</c>; <c>−−x → x</c>;
/// <c>exp(log x), log(exp x) → x</c>; transpose of transpose → one transpose (none if the identity);
/// reshape of reshape → one reshape; broadcast of broadcast → one broadcast; identity reshape/broadcast/transpose → x;
/// <c>log(softmax x) → logSoftmax x</c>; <c>log(sigmoid x) → −softplus(−x)</c>; slicing and padding that change
/// nothing → x; a slice of a concatenation that takes whole operands → those operands (or a slice within one
/// operand → that slice of it); a slice of zero padding → its operand when it takes exactly the operand, zeros when
/// it takes none of it; a slice of one axis reshaped to merge that axis with the ones after it → the same elements
/// sliced from the source so reshaped (<see cref="Pieces"/>: what unstacking, stacking and their gradients leave).
/// A rule whose shortcut has a smaller shape than the node (x + 0 where 0 is larger) broadcasts it back, so
/// shapes never change. (x·0 → 0 and exp(log x) → x assume finite values, as every compiler's fast-math does.)
/// </summary>
internal static class Simplify
{
    /// <summary>The graph with every rule applied once per node.</summary>
    public static Graph Run(Graph graph) => Rebuild.Run(graph, Rule);

    private static bool Is(Node n, double v) => n.Op == OpKind.Const && n.Attrs.Value == v;

    /// <summary>The rule for one node (null: keep it).</summary>
    public static Node? Rule(GraphBuilder b, Node old, Node[] x)
    {
        var s = old.Span;
        Node? Fit(Node n) => n.Shape.Equals(old.Shape) ? n
            : ShapeRules.BroadcastsTo(n.Shape, old.Shape) ? b.Broadcast(n, old.Shape, s) : null;
        switch (old.Op)
        {
            case OpKind.Mul:
                if (Is(x[0], 0) || Is(x[1], 0)) return b.Const(0, s, old.Shape);
                if (Is(x[1], 1)) return Fit(x[0]);
                if (Is(x[0], 1)) return Fit(x[1]);
                return null;
            case OpKind.Add:
                if (Is(x[1], 0)) return Fit(x[0]);
                if (Is(x[0], 0)) return Fit(x[1]);
                return null;
            case OpKind.Sub:
                if (Is(x[1], 0)) return Fit(x[0]);
                if (Is(x[0], 0)) return Fit(b.Unary(OpKind.Neg, x[1], s));
                return null;
            case OpKind.Div: return Is(x[1], 1) ? Fit(x[0]) : null;
            case OpKind.Pow: return Is(x[1], 1) ? Fit(x[0]) : null;
            case OpKind.Neg: return x[0].Op == OpKind.Neg ? x[0].Inputs[0] : null;
            case OpKind.Exp: return x[0].Op == OpKind.Log ? x[0].Inputs[0] : null;
            case OpKind.Log:
                return x[0].Op switch
                {
                    OpKind.Exp => x[0].Inputs[0],
                    OpKind.Softmax => b.Add(OpKind.LogSoftmax, [x[0].Inputs[0]], x[0].Attrs, s),
                    OpKind.Sigmoid =>
                        b.Unary(OpKind.Neg, b.Unary(OpKind.Softplus, b.Unary(OpKind.Neg, x[0].Inputs[0], s), s), s),
                    _ => null,
                };
            case OpKind.Transpose:
                {
                    var inner = x[0].Op == OpKind.Transpose ? x[0].Inputs[0] : x[0];
                    var perm = x[0].Op == OpKind.Transpose
                        ? old.Attrs.Perm!.Select(p => x[0].Attrs.Perm![p]).ToArray()
                        : old.Attrs.Perm!;
                    if (perm.Select((p, i) => p == i).All(t => t)) return inner;
                    return x[0].Op == OpKind.Transpose ? b.Transpose(inner, s, perm) : null;
                }
            case OpKind.Reshape:
                if (x[0].Shape.Equals(old.Shape)) return x[0];
                return x[0].Op switch
                {
                    OpKind.Reshape => b.Reshape(x[0].Inputs[0], old.Shape, s),
                    OpKind.Slice => Pieces.ReshapeOfSlice(b, old, x[0]),
                    _ => null,
                };
            case OpKind.Broadcast:
                if (x[0].Shape.Equals(old.Shape)) return x[0];
                return x[0].Op == OpKind.Broadcast ? b.Broadcast(x[0].Inputs[0], old.Shape, s) : null;
            case OpKind.Slice:
                if (x[0].Shape.Equals(old.Shape)) return x[0];
                return x[0].Op switch
                {
                    OpKind.Concat => Pieces.SliceOfConcat(b, old, x[0]),
                    OpKind.Pad => Pieces.SliceOfPad(b, old, x[0]),
                    _ => null,
                };
            case OpKind.Pad: return x[0].Shape.Equals(old.Shape) ? x[0] : null;
            default: return null;
        }
    }
}
