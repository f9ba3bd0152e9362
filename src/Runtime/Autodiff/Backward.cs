using Nn.Runtime.IR;

namespace Nn.Runtime.Autodiff;

/// <summary>
/// Reverse-mode differentiation as a graph transformation. <see cref="Gradients"/> walks the graph backwards from
/// an output, applies one gradient rule per node (its definition's <see cref="Primitive.Vjp"/>), sums the adjoints
/// of nodes used several times and reduces broadcast adjoints back to their operand's shape. The backward nodes are
/// appended to the same builder, so forward and backward form one graph, which can be simplified, printed and
/// differentiated again.
/// </summary>
internal static class Backward
{
    /// <summary>The gradients of <paramref name="output"/> with respect to each node of <paramref name="wrt"/>
    /// (usually Params), in order, each of its node's shape. The output must be a single value unless a
    /// <paramref name="seed"/> (the output's adjoint, same shape) is given. A node the output does not depend on
    /// gets a zero constant.</summary>
    public static Node[] Gradients(GraphBuilder b, Node output, IReadOnlyList<Node> wrt, Node? seed = null)
    {
        var nodes = b.Nodes;
        foreach (var n in wrt.Append(output).Concat(seed is null ? [] : [seed]))
            if (n.Id >= nodes.Count || !ReferenceEquals(nodes[n.Id], n))
                throw Throw.Bug($"{n} belongs to another graph");
        if (seed is null)
        {
            if (output.Shape.Dims.ToArray().Any(d => !d.IsOne))
                throw Throw.Bug($"the gradient of a non-scalar value of shape {output.Shape} needs a seed");
            seed = b.Const(1, output.Span, output.Shape);
        }
        else if (!seed.Shape.Equals(output.Shape))
            throw Throw.Bug($"seed shape {seed.Shape} differs from output shape {output.Shape}");

        // only nodes that depend on some wrt node need an adjoint
        int last = output.Id;
        var dependsOnWrt = new bool[last + 1];
        foreach (var w in wrt) if (w.Id <= last) dependsOnWrt[w.Id] = true;
        for (int id = 0; id <= last; id++)
            if (!dependsOnWrt[id]) dependsOnWrt[id] = nodes[id].Inputs.Any(x => dependsOnWrt[x.Id]);

        var adjoint = new Dictionary<int, Node> { [output.Id] = seed };
        // adjoints that are zero-padded pieces (the gradients of slices) wait until every user of their node has
        // given its own, to be joined into one concatenation (PaddedPieces); the others are added as they come
        var pieces = new Dictionary<int, List<(Node, SourceSpan)>>();
        Node? Adjoint(int id)
        {
            if (pieces.Remove(id, out var pads))
                adjoint[id] = PaddedPieces.Join(b, adjoint.GetValueOrDefault(id), pads);
            return adjoint.GetValueOrDefault(id);
        }
        for (int id = last; id >= 0; id--)
        {
            var n = nodes[id];
            if (n.IsSource || !dependsOnWrt[id] || Adjoint(id) is not { } g) continue;
            var vjp = new Vjp(b, n, g);
            for (int i = 0; i < n.Inputs.Count; i++)
            {
                var x = n.Inputs[i];
                if (!dependsOnWrt[x.Id]) continue;
                var gi = Primitives.Of(n.Op).Vjp(vjp, i);
                if (gi is null) continue;
                gi = Vjp.Unbroadcast(b, gi, x.Shape, n.Span);
                if (PaddedPieces.Axis(gi) >= 0)
                {
                    if (!pieces.TryGetValue(x.Id, out var list)) pieces[x.Id] = list = [];
                    list.Add((gi, n.Span));
                }
                else adjoint[x.Id] = adjoint.TryGetValue(x.Id, out var prev) ? b.Binary(OpKind.Add, prev, gi, n.Span)
                    : gi;
            }
        }
        return wrt.Select(w => Adjoint(w.Id) ?? b.Const(0, w.Span, w.Shape)).ToArray();
    }

    /// <summary>Hessian-vector products: for each wrt node, (∇²f · v) restricted to it, computed by differentiating
    /// ⟨∇f, v⟩ = Σᵢ sum(∇ᵢf ⊙ vᵢ) again. <paramref name="v"/> gives one direction per wrt node (same shapes).</summary>
    public static Node[] Hvp(GraphBuilder b, Node f, Node[] wrt, Node[] v)
    {
        if (v.Length != wrt.Length) throw Throw.Bug($"{wrt.Length} wrt nodes but {v.Length} directions");
        var grads = Gradients(b, f, wrt);
        Node? dot = null;
        for (int i = 0; i < wrt.Length; i++)
        {
            var term = b.Reduce(OpKind.Sum, b.Binary(OpKind.Mul, grads[i], v[i], f.Span), [], false, f.Span);
            dot = dot is null ? term : b.Binary(OpKind.Add, dot, term, f.Span);
        }
        return dot is null ? [] : Gradients(b, dot, wrt);
    }
}
