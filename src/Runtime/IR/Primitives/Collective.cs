namespace Nn.Runtime.IR;

/// <summary>Ops where the ranks of a data-parallel job meet: their kernels call the sum across ranks the executor
/// was given (<see cref="Training.IRankSum"/>); an executor given none (one process) runs them as the identity.
/// </summary>
internal static class Collective
{
    /// <summary>
    /// y = Σ over ranks of x, the same on every rank (MPI's allreduce of a small tensor). Linear, so its adjoint is
    /// the same sum of the ranks' adjoints: differentiated inside a rank's training graph, the backward pass gets the
    /// terms of the other ranks' objectives (batchNorm's cross-rank gradient, as PyTorch's SyncBatchNorm). Never
    /// folded: a constant operand sums to Size times itself.
    /// </summary>
    internal sealed class RankSum : StructuralPrimitive
    {
        public override OpKind Kind => OpKind.RankSum;
        public override Category Category => Category.Collective;
        public override int Arity => 1;
        public override bool Differentiable => true;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s) => xs[0];
        internal override Node? Vjp(Vjp c, int i) => c.Op(OpKind.RankSum, OpAttrs.None, c.G);
        internal override double? Fold(Node old, Node[] x, double[] v) => null;
    }
}
