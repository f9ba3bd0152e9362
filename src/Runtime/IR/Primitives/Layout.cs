using Nn.Runtime.Kernels;

namespace Nn.Runtime.IR;

/// <summary>The matrix product and the ops that move elements: transpose, reshape, broadcast, concat, slice,
/// pad.</summary>
internal static class Layout
{
    /// <summary>Matrix product; batched when the left side has more axes.</summary>
    internal sealed class MatMul : StructuralPrimitive
    {
        public override OpKind Kind => OpKind.MatMul;
        public override Category Category => Category.Layout;
        public override int Arity => 2;
        public override bool Differentiable => true;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s) =>
            ShapeRules.MatMul(xs[0], xs[1]);
        // a [.., m, k] @ b: da = g @ bᵀ; db = aᵀ @ g (a batched product when b is shared; the walker sums the
        // batch axes)
        internal override Node? Vjp(Vjp c, int i) => i == 0
            ? c.B.MatMul(c.G, c.B.Transpose(c.X(1), c.S), c.S)
            : c.B.MatMul(c.B.Transpose(c.X(0), c.S), c.G, c.S);
        internal override double? Fold(Node old, Node[] x, double[] v) => null;
    }

    /// <summary>The ops that only move elements: one operand, a constant stays the same constant.</summary>
    internal abstract class Move : StructuralPrimitive
    {
        public override Category Category => Category.Layout;
        public override int Arity => 1;
        public override bool Differentiable => true;
        internal override double? Fold(Node old, Node[] x, double[] v) => v[0];
    }

    /// <summary>Axis permutation (<see cref="OpAttrs.Perm"/>).</summary>
    internal sealed class Transpose : Move
    {
        public override OpKind Kind => OpKind.Transpose;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s) =>
            ShapeRules.Transpose(xs[0], Need(a.Perm));
        internal override Node? Vjp(Vjp c, int i)
        {
            var perm = c.A.Perm!;
            var inverse = new int[perm.Length];
            for (int k = 0; k < inverse.Length; k++) inverse[perm[k]] = k;
            return c.B.Transpose(c.G, c.S, inverse);
        }
    }

    /// <summary>Same elements, new shape (<see cref="OpAttrs.Target"/>).</summary>
    internal sealed class Reshape : Move
    {
        public override OpKind Kind => OpKind.Reshape;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s) =>
            ShapeRules.Reshape(xs[0], Need(a.Target));
        internal override Node? Vjp(Vjp c, int i) => c.B.Reshape(c.G, c.X(0).Shape, c.S);
    }

    /// <summary>Broadcast to <see cref="OpAttrs.Target"/>; inside a fused loop it is a copy of gathered
    /// values.</summary>
    internal sealed class Broadcast : Move, IFusedTile
    {
        public override OpKind Kind => OpKind.Broadcast;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s)
        {
            var t = Need(a.Target);
            if (!ShapeRules.BroadcastsTo(xs[0], t))
                throw new ShapeException("NN0201", $"{xs[0]} cannot be broadcast to {t}");
            return t;
        }
        // the walker sums the adjoint back over the broadcast axes
        internal override Node? Vjp(Vjp c, int i) => c.G;
        public void Tile(in Arg a, in Arg b, in Arg c, float alpha, ref float d, nuint n) =>
            ElementOps.Copy(a, ref d, n);
    }

    /// <summary>Join along <see cref="OpAttrs.Axes"/>[0]; operand i receives its slice of the adjoint.</summary>
    internal sealed class Concat : StructuralPrimitive
    {
        public override OpKind Kind => OpKind.Concat;
        public override Category Category => Category.Layout;
        public override int Arity => -1;
        public override bool Differentiable => true;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s) =>
            ShapeRules.Concat(xs, a.Axes.Length > 0 ? a.Axes[0] : 0);
        internal override double? Fold(Node old, Node[] x, double[] v) => v.All(u => u.Equals(v[0])) ? v[0] : null;
        internal override Node? Vjp(Vjp c, int i)
        {
            var shape = c.Y.Shape;
            int axis = c.A.Axes.Length > 0 ? ShapeRules.Axis(c.A.Axes[0], shape.Rank, "concat") : 0;
            int offset = c.Y.Inputs.Take(i).Sum(x => x.Shape[axis].Size);
            var starts = new int[shape.Rank];
            var stops = Enumerable.Repeat(-1, shape.Rank).ToArray();
            starts[axis] = offset;
            stops[axis] = offset + c.X(i).Shape[axis].Size;
            return c.B.Slice(c.G, starts, stops, c.S);
        }
    }

    /// <summary>Sub-range per axis (<see cref="OpAttrs.Slice"/>: stop exclusive, -1 the whole axis).</summary>
    internal sealed class Slice : Move
    {
        public override OpKind Kind => OpKind.Slice;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s) =>
            ShapeRules.Slice(xs[0], Need(a.Slice).Starts, a.Slice!.Stops);
        internal override Node? Vjp(Vjp c, int i)
        {
            var x = c.X(0).Shape;
            int r = x.Rank;
            var (starts, stops) = c.A.Slice!;
            var after = Enumerable.Range(0, r).Select(k => stops[k] == -1 ? 0 : x[k].Size - stops[k]).ToArray();
            return c.B.Pad(c.G, starts, after, c.S);
        }
    }

    /// <summary>Zero padding per axis (<see cref="OpAttrs.Pad"/>; the gradient of slicing).</summary>
    internal sealed class Pad : Move
    {
        public override OpKind Kind => OpKind.Pad;
        internal override double? Fold(Node old, Node[] x, double[] v) => v[0] == 0 ? 0 : null;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s)
        {
            var x = xs[0];
            var (before, after) = Need(a.Pad);
            var dims = new Dim[x.Rank];
            for (int i = 0; i < x.Rank; i++)
            {
                int lo = before[i], hi = after[i];
                if (lo == 0 && hi == 0) { dims[i] = x[i]; continue; }
                if (!x[i].IsFixed) throw new ShapeException("NN0208", $"cannot pad the variable axis {i} of {x}");
                dims[i] = Dim.Of(x[i].Size + lo + hi);
            }
            return new Shape(dims);
        }
        internal override Node? Vjp(Vjp c, int i)
        {
            var x = c.X(0).Shape;
            int r = x.Rank;
            var before = c.A.Pad!.Before;
            var stops = Enumerable.Range(0, r).Select(k => x[k].IsFixed ? before[k] + x[k].Size : -1).ToArray();
            return c.B.Slice(c.G, before, stops, c.S);
        }
    }
}
