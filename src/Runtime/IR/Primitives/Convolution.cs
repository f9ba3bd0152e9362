namespace Nn.Runtime.IR;

/// <summary>2-D convolution over NHWC images with [kh, kw, cin, cout] kernels, and its two gradients.
/// <see cref="OpAttrs.Conv"/> holds the strides and paddings. Since
/// &lt;conv(x, k), dy&gt; = &lt;x, gradInput(dy, k)&gt; = &lt;k, gradKernel(x, dy)&gt;, each op's adjoints are the
/// other two, so a network can be differentiated twice.</summary>
internal static class Convolution
{
    internal abstract class Conv : StructuralPrimitive
    {
        public override Category Category => Category.Convolution;
        public override int Arity => 2;
        public override bool Differentiable => true;
        internal override double? Fold(Node old, Node[] x, double[] v) => null;
        private protected static Node Forward(Vjp c, Node x, Node k) =>
            c.Op(OpKind.Conv2d, new OpAttrs { Conv = c.A.Conv }, x, k);
        private protected static Node GradInput(Vjp c, Node dy, Node k, Shape x) =>
            c.Op(OpKind.Conv2dGradInput, new OpAttrs { Conv = c.A.Conv, Target = x }, dy, k);
        private protected static Node GradKernel(Vjp c, Node x, Node dy, Shape k) =>
            c.Op(OpKind.Conv2dGradKernel, new OpAttrs { Conv = c.A.Conv, Target = k }, x, dy);
    }

    internal sealed class Conv2d : Conv
    {
        public override OpKind Kind => OpKind.Conv2d;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s) =>
            ShapeRules.Conv2d(xs[0], xs[1], Need(a.Conv));
        internal override Node? Vjp(Vjp c, int i) => i == 0
            ? GradInput(c, c.G, c.X(1), c.X(0).Shape)
            : GradKernel(c, c.X(0), c.G, c.X(1).Shape);
    }

    /// <summary>Gradient of conv2d w.r.t. its input: operands (dy, kernel), Target = the input's shape.</summary>
    internal sealed class Conv2dGradInput : Conv
    {
        public override OpKind Kind => OpKind.Conv2dGradInput;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s) => Need(a.Target);
        internal override Node? Vjp(Vjp c, int i) => i == 0
            ? Forward(c, c.G, c.X(1))
            : GradKernel(c, c.G, c.X(0), c.X(1).Shape);
    }

    /// <summary>Gradient of conv2d w.r.t. its kernel: operands (x, dy), Target = the kernel's shape.</summary>
    internal sealed class Conv2dGradKernel : Conv
    {
        public override OpKind Kind => OpKind.Conv2dGradKernel;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s) => Need(a.Target);
        internal override Node? Vjp(Vjp c, int i) => i == 0
            ? GradInput(c, c.X(1), c.G, c.X(0).Shape)
            : Forward(c, c.X(0), c.G);
    }
}
