namespace Nn.Runtime.IR;

/// <summary>Values that come from outside the step: inputs fed per batch, parameters, state and constants.
/// They have no operands, so no gradient rule is ever asked of them.</summary>
internal static class Sources
{
    internal abstract class Source : StructuralPrimitive
    {
        public override Category Category => Category.Source;
        public override int Arity => 0;
        public override bool Differentiable => false;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? sourceShape) =>
            sourceShape ?? a.Target ?? Shape.Scalar;
        internal override Node? Vjp(Vjp c, int i) => null;
        internal override double? Fold(Node old, Node[] x, double[] v) => null;
    }

    /// <summary>A named input fed per batch (features, targets, hyper-parameters such as the learning rate).</summary>
    internal sealed class Input : Source { public override OpKind Kind => OpKind.Input; }
    /// <summary>A trainable parameter, named by its path, with an initializer.</summary>
    internal sealed class Param : Source { public override OpKind Kind => OpKind.Param; }
    /// <summary>Non-trainable persistent state (optimizer moments, batch-norm running statistics).</summary>
    internal sealed class State : Source { public override OpKind Kind => OpKind.State; }
    /// <summary>A constant filled with one value.</summary>
    internal sealed class Const : Source { public override OpKind Kind => OpKind.Const; }
}
