using Nn.Runtime.IR;

namespace Nn.Runtime.Ops;

/// <summary>
/// A builder and a span, so composite operations read like the formulas they implement
/// (<c>e.Mul(e.C(0.5), e.Square(d))</c>) instead of repeating the span on every call.
/// Every node it makes carries <see cref="Span"/>, so a run-time error inside a composite points at the user's line.
/// </summary>
internal readonly struct Emit(GraphBuilder b, SourceSpan span)
{
    /// <summary>The builder nodes are added to.</summary>
    public GraphBuilder B { get; } = b;
    /// <summary>The span every node gets.</summary>
    public SourceSpan Span { get; } = span;

    /// <summary>A scalar constant.</summary>
    public Node C(double v) => B.Const(v, Span);
    /// <summary>a + b.</summary>
    public Node Add(Node a, Node b) => B.Binary(OpKind.Add, a, b, Span);
    /// <summary>a − b.</summary>
    public Node Sub(Node a, Node b) => B.Binary(OpKind.Sub, a, b, Span);
    /// <summary>a · b.</summary>
    public Node Mul(Node a, Node b) => B.Binary(OpKind.Mul, a, b, Span);
    /// <summary>a / b.</summary>
    public Node Div(Node a, Node b) => B.Binary(OpKind.Div, a, b, Span);
    /// <summary>a ** b.</summary>
    public Node Pow(Node a, Node b) => B.Binary(OpKind.Pow, a, b, Span);
    /// <summary>max(a, b).</summary>
    public Node Max(Node a, Node b) => B.Binary(OpKind.Max, a, b, Span);
    /// <summary>min(a, b).</summary>
    public Node Min(Node a, Node b) => B.Binary(OpKind.Min, a, b, Span);
    /// <summary>c · x for a scalar c (no node when c is 1).</summary>
    public Node Scale(double c, Node x) => c == 1 ? x : Mul(C(c), x);
    /// <summary>A unary op.</summary>
    public Node U(OpKind op, Node x) => B.Unary(op, x, Span);
    /// <summary>x².</summary>
    public Node Square(Node x) => U(OpKind.Square, x);
    /// <summary>√x.</summary>
    public Node Sqrt(Node x) => U(OpKind.Sqrt, x);
    /// <summary>|x|.</summary>
    public Node Abs(Node x) => U(OpKind.Abs, x);
    /// <summary>log x.</summary>
    public Node Log(Node x) => U(OpKind.Log, x);
    /// <summary>−x.</summary>
    public Node Neg(Node x) => U(OpKind.Neg, x);
    /// <summary>Mean over all axes, as a scalar.</summary>
    public Node MeanAll(Node x) => x.Shape.Rank == 0 ? x : B.Reduce(OpKind.Mean, x, [], false, Span);
    /// <summary>Sum over all axes, as a scalar.</summary>
    public Node SumAll(Node x) => x.Shape.Rank == 0 ? x : B.Reduce(OpKind.Sum, x, [], false, Span);
    /// <summary>Sum over the last axis, removing it.</summary>
    public Node SumLast(Node x) => B.Reduce(OpKind.Sum, x, [x.Shape.Rank - 1], false, Span);
    /// <summary>Clamp x to [lo, hi].</summary>
    public Node Clamp(Node x, double lo, double hi) => Max(Min(x, C(hi)), C(lo));
}
