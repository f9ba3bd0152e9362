namespace Nn.Runtime.IR;

/// <summary>Random masks and labels: never folded, no gradient.</summary>
internal static class Randomness
{
    internal abstract class NoGradient : StructuralPrimitive
    {
        public override Category Category => Category.Random;
        public override int Arity => 1;
        public override bool Differentiable => false;
        internal override Node? Vjp(Vjp c, int i) => null;
        internal override double? Fold(Node old, Node[] x, double[] v) => null;
    }

    /// <summary>Inverted-dropout mask: 0 with probability p (Value), else 1/(1−p). <see cref="OpAttrs.Stream"/> is
    /// the op's stream id.</summary>
    internal sealed class DropoutMask : NoGradient
    {
        public override OpKind Kind => OpKind.DropoutMask;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s)
        {
            if (a.Value < 0 || a.Value >= 1)
                throw new ShapeException("NN0208", $"dropout probability must be in [0, 1), got {a.Value}");
            return xs[0];
        }
    }

    /// <summary>Class indices (as floats) to one-hot rows of width <see cref="OpAttrs.Width"/>.</summary>
    internal sealed class OneHot : NoGradient
    {
        public override OpKind Kind => OpKind.OneHot;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s)
        {
            var x = xs[0];
            if (x.Rank == 0) throw new ShapeException("NN0202", "one-hot labels need at least one axis");
            var width = a.Width ?? throw new ShapeException("NN0208", "`oneHot` needs a width");
            var dims = x.ToArray();
            if (dims[^1].IsOne) dims[^1] = Dim.Of(width);
            else dims = [.. dims, Dim.Of(width)];
            return new Shape(dims);
        }
    }
}
