namespace Nn.Runtime.IR;

/// <summary>What a gradient rule sees: the builder, the forward node, its incoming adjoint <see cref="G"/>, and short
/// graph-building helpers. Every node a rule adds carries the forward node's span, so a NaN in the backward pass
/// still points at the user's line.</summary>
internal sealed class Vjp(GraphBuilder b, Node node, Node g)
{
    /// <summary>The builder the backward nodes are appended to.</summary>
    public GraphBuilder B { get; } = b;
    /// <summary>The forward node being differentiated (its value is <c>y</c>).</summary>
    public Node Y { get; } = node;
    /// <summary>The adjoint of <see cref="Y"/> (same shape).</summary>
    public Node G { get; } = g;
    /// <summary>The forward node's span.</summary>
    public SourceSpan S => Y.Span;
    /// <summary>Operand <paramref name="i"/> of the forward node.</summary>
    public Node X(int i) => Y.Inputs[i];
    /// <summary>The forward node's attributes.</summary>
    public OpAttrs A => Y.Attrs;

    /// <summary>A scalar constant.</summary>
    public Node C(double v) => B.Const(v, S);
    /// <summary>A constant filling <paramref name="shape"/>.</summary>
    public Node C(double v, Shape shape) => B.Const(v, S, shape);
    /// <summary>A unary op.</summary>
    public Node U(OpKind op, Node x) => B.Unary(op, x, S);
    /// <summary>Negation.</summary>
    public Node Neg(Node x) => B.Unary(OpKind.Neg, x, S);
    /// <summary>a + b.</summary>
    public Node Add(Node a, Node b) => B.Binary(OpKind.Add, a, b, S);
    /// <summary>a − b.</summary>
    public Node Sub(Node a, Node b) => B.Binary(OpKind.Sub, a, b, S);
    /// <summary>a · b.</summary>
    public Node Mul(Node a, Node b) => B.Binary(OpKind.Mul, a, b, S);
    /// <summary>a / b.</summary>
    public Node Div(Node a, Node b) => B.Binary(OpKind.Div, a, b, S);
    /// <summary>Any binary op.</summary>
    public Node Bin(OpKind op, Node a, Node b) => B.Binary(op, a, b, S);
    /// <summary>cond ? a : b.</summary>
    public Node Where(Node c, Node a, Node b) => B.Where(c, a, b, S);
    /// <summary>Sum over axes keeping them as size 1 (all axes when empty).</summary>
    public Node SumKeep(Node x, int[] axes) => B.Reduce(OpKind.Sum, x, axes, true, S);
    /// <summary>Any op with attributes.</summary>
    public Node Op(OpKind op, OpAttrs attrs, params Node[] xs) => B.Add(op, xs, attrs, S);

    /// <summary>The shape of <see cref="Y"/>'s operand reduced over <see cref="OpAttrs.Axes"/> with the axes kept
    /// (the shape a reduction's adjoint is reshaped to before broadcasting back).</summary>
    public Shape KeptShape(Node x) => ShapeRules.Reduce(x.Shape, A.Axes, true, "sum");

    /// <summary>Reduces a gradient of a broadcast result back to <paramref name="shape"/>: sums the leading axes the
    /// operand did not have and the axes where it had size 1, then reshapes (JAX's <c>unbroadcast</c>).</summary>
    public static Node Unbroadcast(GraphBuilder b, Node g, Shape shape, SourceSpan span)
    {
        if (g.Shape.Equals(shape)) return g;
        if (g.Shape.Rank < shape.Rank) return b.Broadcast(g, shape, span);
        int lead = g.Shape.Rank - shape.Rank;
        var axes = Enumerable.Range(0, g.Shape.Rank)
            .Where(a => a < lead || (shape[a - lead].IsOne && !g.Shape[a].IsOne)).ToArray();
        var summed = axes.Length == 0 ? g : b.Reduce(OpKind.Sum, g, axes, true, span);
        return b.Reshape(summed, shape, span);
    }
}
