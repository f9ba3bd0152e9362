namespace Nn.Runtime.IR;

/// <summary>Reductions over <see cref="OpAttrs.Axes"/> (kept as size 1 when KeepDims), arg-max, and the normalised
/// exponentials over one axis.</summary>
internal static class Reductions
{
    internal abstract class Reduce : StructuralPrimitive
    {
        public override Category Category => Category.Reduction;
        public override int Arity => 1;
        public override bool Differentiable => true;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s) =>
            ShapeRules.Reduce(xs[0], a.Axes, a.KeepDims, Name);
    }

    internal sealed class Sum : Reduce
    {
        public override OpKind Kind => OpKind.Sum;
        internal override Node? Vjp(Vjp c, int i) => SpreadBack(c, c.G);
        internal override double? Fold(Node old, Node[] x, double[] v) =>
            ReducedCount(x[0].Shape, old.Attrs.Axes) is long n ? v[0] * n : null;
    }

    internal sealed class Mean : Reduce
    {
        public override OpKind Kind => OpKind.Mean;
        internal override double? Fold(Node old, Node[] x, double[] v) => v[0];
        internal override Node? Vjp(Vjp c, int i)
        {
            var x = c.X(0);
            var axes = c.A.Axes;
            var spread = SpreadBack(c, c.G);
            var reduced = axes.Length == 0 ? Enumerable.Range(0, x.Shape.Rank).ToArray() : axes;
            if (reduced.All(k => x.Shape[k].IsFixed))
                return c.Mul(spread, c.C(1.0 / reduced.Aggregate(1L, (p, k) => p * x.Shape[k].Size)));
            // a variable count (mean over the batch): count it at run time
            return c.Div(spread, c.SumKeep(c.C(1, x.Shape), axes));
        }
    }

    internal sealed class ReduceMax : Reduce
    {
        public override OpKind Kind => OpKind.ReduceMax;
        internal override double? Fold(Node old, Node[] x, double[] v) => v[0];
        // the adjoint is shared equally among tied maxima
        internal override Node? Vjp(Vjp c, int i)
        {
            var x = c.X(0);
            var mask = c.Bin(OpKind.Equal, x, c.B.Reshape(c.Y, c.KeptShape(x), c.S));
            return c.Mul(c.Div(mask, c.SumKeep(mask, c.A.Axes)), c.B.Reshape(c.G, c.KeptShape(x), c.S));
        }
    }

    /// <summary>Index of the maximum along Axes[0], as a float, axis kept; piecewise constant, so no
    /// gradient.</summary>
    internal sealed class ArgMax : StructuralPrimitive
    {
        public override OpKind Kind => OpKind.ArgMax;
        public override Category Category => Category.Reduction;
        public override int Arity => 1;
        public override bool Differentiable => false;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s) =>
            ShapeRules.Reduce(xs[0], [FirstAxis(a)], true, "argmax");
        internal override Node? Vjp(Vjp c, int i) => null;
        internal override double? Fold(Node old, Node[] x, double[] v) => null;
    }

    internal abstract class Normalised : StructuralPrimitive
    {
        public override Category Category => Category.Reduction;
        public override int Arity => 1;
        public override bool Differentiable => true;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s)
        {
            ShapeRules.Axis(FirstAxis(a), xs[0].Rank, Name);
            return xs[0];
        }
        /// <summary>The fixed length of the normalised axis, when it is fixed.</summary>
        private protected static int? Length(Node old, Node[] x) =>
            x[0].Shape[old.Attrs.Axes[0]] is { IsFixed: true } d ? d.Size : null;
    }

    internal sealed class Softmax : Normalised
    {
        public override OpKind Kind => OpKind.Softmax;
        internal override Node? Vjp(Vjp c, int i) => c.Mul(c.Y, c.Sub(c.G, c.SumKeep(c.Mul(c.G, c.Y), c.A.Axes)));
        internal override double? Fold(Node old, Node[] x, double[] v) => Length(old, x) is int n ? 1.0 / n : null;
    }

    internal sealed class LogSoftmax : Normalised
    {
        public override OpKind Kind => OpKind.LogSoftmax;
        internal override Node? Vjp(Vjp c, int i) => c.Sub(c.G, c.Mul(c.U(OpKind.Exp, c.Y), c.SumKeep(c.G, c.A.Axes)));
        internal override double? Fold(Node old, Node[] x, double[] v) => Length(old, x) is int n ? -Math.Log(n) : null;
    }

    /// <summary>The adjoint of a reduction, reshaped to keep the reduced axes and broadcast back over them.</summary>
    private static Node SpreadBack(Vjp c, Node g)
    {
        var x = c.X(0);
        return c.B.Broadcast(c.B.Reshape(g, c.KeptShape(x), c.S), x.Shape, c.S);
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
