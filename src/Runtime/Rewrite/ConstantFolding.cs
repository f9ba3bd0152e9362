using Nn.Runtime.IR;

namespace Nn.Runtime.Rewrite;

/// <summary>Constant folding: a node whose operands are all constants, and whose value is again one number
/// repeated, becomes a Const of its shape. The number is the op's definition's <see cref="Primitive.Fold"/>:
/// for an elementwise op its scalar meaning in float64, the same code the interpreter runs. Random and label ops
/// (DropoutMask, OneHot, ArgMax) are never folded. A Where with a constant condition becomes the branch it
/// picks.</summary>
internal static class ConstantFolding
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
        return Primitives.Of(old.Op).Fold(old, x, v) is double c ? b.Const(c, old.Span, old.Shape) : null;
    }
}
