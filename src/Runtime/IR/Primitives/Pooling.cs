namespace Nn.Runtime.IR;

/// <summary>2-D max and average pooling over NHWC images and their gradients. <see cref="OpAttrs.Pool"/> holds
/// the window size, stride and paddings; padded cells are ignored (never the maximum, not counted in a mean).</summary>
internal static class Pooling
{
    internal abstract class Pool : StructuralPrimitive
    {
        public override Category Category => Category.Pooling;
        public override bool Differentiable => true;
        internal override double? Fold(Node old, Node[] x, double[] v) => null;
    }

    internal sealed class MaxPool2d : Pool
    {
        public override OpKind Kind => OpKind.MaxPool2d;
        public override int Arity => 1;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s) =>
            ShapeRules.Pool2d(xs[0], Need(a.Pool), Name);
        internal override Node? Vjp(Vjp c, int i) =>
            c.Op(OpKind.MaxPool2dGrad, new OpAttrs { Pool = c.A.Pool }, c.X(0), c.G);
    }

    /// <summary>Operands (x, dy): routes dy to the arg-max of each window.</summary>
    internal sealed class MaxPool2dGrad : Pool
    {
        public override OpKind Kind => OpKind.MaxPool2dGrad;
        public override int Arity => 2;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s) => xs[0];
        internal override Node? Vjp(Vjp c, int i)
        {
            if (i == 0) return null; // piecewise constant in x
            // gather g at each window's arg-max: with disjoint windows,
            // sum(window of g·argmaxMask) = area·avgPool(g·mask)
            // (avgPool divides by the window's unpadded cells, so padding breaks the identity too)
            var a = c.A;
            var (size, stride, pads) = a.Pool!;
            if (stride < size)
                throw Throw.MissingGradient(c.Y, " in its pooled gradient when pooling windows overlap");
            if (pads.Any)
                throw Throw.MissingGradient(c.Y, " in its pooled gradient when pooling pads the image");
            var mask = c.Op(OpKind.MaxPool2dGrad, a, c.X(0), c.C(1, c.X(1).Shape));
            return c.Mul(c.Op(OpKind.AvgPool2d, new OpAttrs { Pool = a.Pool }, c.Mul(c.G, mask)), c.C(size * size));
        }
    }

    internal sealed class AvgPool2d : Pool
    {
        public override OpKind Kind => OpKind.AvgPool2d;
        public override int Arity => 1;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s) =>
            ShapeRules.Pool2d(xs[0], Need(a.Pool), Name);
        internal override Node? Vjp(Vjp c, int i) =>
            c.Op(OpKind.AvgPool2dGrad, new OpAttrs { Pool = c.A.Pool, Target = c.X(0).Shape }, c.G);
    }

    /// <summary>Operand (dy), Target = the input's shape.</summary>
    internal sealed class AvgPool2dGrad : Pool
    {
        public override OpKind Kind => OpKind.AvgPool2dGrad;
        public override int Arity => 1;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s) => Need(a.Target);
        internal override Node? Vjp(Vjp c, int i) => c.Op(OpKind.AvgPool2d, new OpAttrs { Pool = c.A.Pool }, c.G);
    }
}
