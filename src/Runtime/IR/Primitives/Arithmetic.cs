using System.Numerics;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.IR;

/// <summary>Elementwise arithmetic: the unary maths functions, the binary operators and comparisons, and where.
/// Each definition: scalar meaning (<c>Apply</c>), kernel operator (type argument), gradient rule.</summary>
internal static class Arithmetic
{
    internal sealed class Neg : UnaryPrimitive<NegOp>
    {
        public override OpKind Kind => OpKind.Neg;
        public override IReadOnlyList<string> Names => []; // written -x
        public override T Apply<T>(T x, T alpha) => -x;
        internal override Node? Vjp(Vjp c, int i) => c.Neg(c.G);
    }

    internal sealed class Exp : UnaryPrimitive<ExpOp>
    {
        public override OpKind Kind => OpKind.Exp;
        public override IReadOnlyList<string> Names => ["exp"];
        public override T Apply<T>(T x, T alpha) => T.Exp(x);
        internal override Node? Vjp(Vjp c, int i) => c.Mul(c.G, c.Y);
    }

    internal sealed class Log : UnaryPrimitive<LogOp>
    {
        public override OpKind Kind => OpKind.Log;
        public override IReadOnlyList<string> Names => ["log"];
        public override T Apply<T>(T x, T alpha) => T.Log(x);
        internal override Node? Vjp(Vjp c, int i) => c.Div(c.G, c.X(0));
    }

    internal sealed class Sqrt : UnaryPrimitive<SqrtOp>
    {
        public override OpKind Kind => OpKind.Sqrt;
        public override IReadOnlyList<string> Names => ["sqrt"];
        public override T Apply<T>(T x, T alpha) => T.Sqrt(x);
        internal override Node? Vjp(Vjp c, int i) => c.Div(c.G, c.Mul(c.C(2), c.Y));
    }

    internal sealed class Abs : UnaryPrimitive<AbsOp>
    {
        public override OpKind Kind => OpKind.Abs;
        public override IReadOnlyList<string> Names => ["abs"];
        public override T Apply<T>(T x, T alpha) => T.Abs(x);
        internal override Node? Vjp(Vjp c, int i) => c.Mul(c.G, c.U(OpKind.Sign, c.X(0)));
    }

    /// <summary>−1, 0 or 1 (NaN stays NaN); piecewise constant, so no gradient.</summary>
    internal sealed class Sign : UnaryPrimitive<SignOp>
    {
        public override OpKind Kind => OpKind.Sign;
        public override IReadOnlyList<string> Names => [];
        public override bool Differentiable => false;
        public override T Apply<T>(T x, T alpha) => T.IsNaN(x) ? x : T.CreateChecked(T.Sign(x));
        internal override Node? Vjp(Vjp c, int i) => null;
    }

    internal sealed class Sin : UnaryPrimitive<SinOp>
    {
        public override OpKind Kind => OpKind.Sin;
        public override IReadOnlyList<string> Names => ["sin"];
        public override T Apply<T>(T x, T alpha) => T.Sin(x);
        internal override Node? Vjp(Vjp c, int i) => c.Mul(c.G, c.U(OpKind.Cos, c.X(0)));
    }

    internal sealed class Cos : UnaryPrimitive<CosOp>
    {
        public override OpKind Kind => OpKind.Cos;
        public override IReadOnlyList<string> Names => ["cos"];
        public override T Apply<T>(T x, T alpha) => T.Cos(x);
        internal override Node? Vjp(Vjp c, int i) => c.Neg(c.Mul(c.G, c.U(OpKind.Sin, c.X(0))));
    }

    internal sealed class Square : UnaryPrimitive<SquareOp>
    {
        public override OpKind Kind => OpKind.Square;
        public override IReadOnlyList<string> Names => ["square"];
        public override T Apply<T>(T x, T alpha) => x * x;
        internal override Node? Vjp(Vjp c, int i) => c.Mul(c.G, c.Mul(c.C(2), c.X(0)));
    }

    internal sealed class Reciprocal : UnaryPrimitive<ReciprocalOp>
    {
        public override OpKind Kind => OpKind.Reciprocal;
        public override IReadOnlyList<string> Names => [];
        public override T Apply<T>(T x, T alpha) => T.One / x;
        internal override Node? Vjp(Vjp c, int i) => c.Neg(c.Mul(c.G, c.U(OpKind.Square, c.Y)));
    }

    /// <summary>1 where x &gt; 0, else 0 (the derivative mask of relu); no gradient.</summary>
    internal sealed class Step : UnaryPrimitive<StepOp>
    {
        public override OpKind Kind => OpKind.Step;
        public override IReadOnlyList<string> Names => [];
        public override bool Differentiable => false;
        public override T Apply<T>(T x, T alpha) => x > T.Zero ? T.One : T.Zero;
        internal override Node? Vjp(Vjp c, int i) => null;
    }

    internal sealed class Add : BinaryPrimitive<AddOp>
    {
        public override OpKind Kind => OpKind.Add;
        public override string Symbol => "+";
        public override T Apply<T>(T a, T b) => a + b;
        internal override Node? Vjp(Vjp c, int i) => c.G;
    }

    internal sealed class Sub : BinaryPrimitive<SubOp>
    {
        public override OpKind Kind => OpKind.Sub;
        public override string Symbol => "-";
        public override T Apply<T>(T a, T b) => a - b;
        internal override Node? Vjp(Vjp c, int i) => i == 0 ? c.G : c.Neg(c.G);
    }

    internal sealed class Mul : BinaryPrimitive<MulOp>
    {
        public override OpKind Kind => OpKind.Mul;
        public override string Symbol => "*";
        public override T Apply<T>(T a, T b) => a * b;
        internal override Node? Vjp(Vjp c, int i) => c.Mul(c.G, c.X(1 - i));
    }

    internal sealed class Div : BinaryPrimitive<DivOp>
    {
        public override OpKind Kind => OpKind.Div;
        public override string Symbol => "/";
        public override T Apply<T>(T a, T b) => a / b;
        internal override Node? Vjp(Vjp c, int i) =>
            i == 0 ? c.Div(c.G, c.X(1)) : c.Neg(c.Mul(c.Div(c.G, c.X(1)), c.Y));
    }

    internal sealed class Pow : BinaryPrimitive<PowOp>
    {
        public override OpKind Kind => OpKind.Pow;
        public override string Symbol => "**";
        public override T Apply<T>(T a, T b) => T.Pow(a, b);
        internal override Node? Vjp(Vjp c, int i) => i == 0
            ? c.Mul(c.G, c.Mul(c.X(1), c.Bin(OpKind.Pow, c.X(0), c.Sub(c.X(1), c.C(1)))))
            : c.Mul(c.G, c.Mul(c.Y, c.U(OpKind.Log, c.X(0))));
    }

    // ties go to the left operand, so the two shares always add up to g
    internal sealed class Max : BinaryPrimitive<MaxOp>
    {
        public override OpKind Kind => OpKind.Max;
        public override string Symbol => "max";
        public override T Apply<T>(T a, T b) => T.Max(a, b);
        internal override Node? Vjp(Vjp c, int i) => Share(c, c.Bin(OpKind.GreaterEqual, c.X(0), c.X(1)), i);
    }

    internal sealed class Min : BinaryPrimitive<MinOp>
    {
        public override OpKind Kind => OpKind.Min;
        public override string Symbol => "min";
        public override T Apply<T>(T a, T b) => T.Min(a, b);
        internal override Node? Vjp(Vjp c, int i) => Share(c, c.Bin(OpKind.GreaterEqual, c.X(1), c.X(0)), i);
    }

    /// <summary>1 where a &gt;= b, else 0; no gradient.</summary>
    internal sealed class GreaterEqual : BinaryPrimitive<GreaterEqualOp>
    {
        public override OpKind Kind => OpKind.GreaterEqual;
        public override string Symbol => ">=";
        public override bool Differentiable => false;
        public override T Apply<T>(T a, T b) => a >= b ? T.One : T.Zero;
        internal override Node? Vjp(Vjp c, int i) => null;
    }

    /// <summary>1 where a == b, else 0; no gradient.</summary>
    internal sealed class Equal : BinaryPrimitive<EqualOp>
    {
        public override OpKind Kind => OpKind.Equal;
        public override string Symbol => "=";
        public override bool Differentiable => false;
        public override T Apply<T>(T a, T b) => a == b ? T.One : T.Zero;
        internal override Node? Vjp(Vjp c, int i) => null;
    }

    /// <summary>cond != 0 ? a : b, with broadcasting over the three operands.</summary>
    internal sealed class Where : ElementwisePrimitive
    {
        public override OpKind Kind => OpKind.Where;
        public override Category Category => Category.Ternary;
        public override int Arity => 3;
        /// <summary>The op on one triple of values.</summary>
        public static T Apply<T>(T cond, T a, T b) where T : IBinaryFloatingPointIeee754<T> => cond != T.Zero ? a : b;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? sourceShape) =>
            ShapeRules.Broadcast(ShapeRules.Broadcast(xs[0], xs[1]), xs[2]);
        internal override double? Fold(Node old, Node[] x, double[] v) => Apply(v[0], v[1], v[2]);
        internal override void Tile(in Arg a, in Arg b, in Arg c, float alpha, ref float d, nuint n) =>
            ElementOps.Where(a, b, c, ref d, n);
        internal override Node? Vjp(Vjp c, int i) => i switch
        {
            0 => null,
            1 => c.Where(c.X(0), c.G, c.C(0)),
            _ => c.Where(c.X(0), c.C(0), c.G),
        };
    }

    private static Node Share(Vjp c, Node leftWins, int i) =>
        i == 0 ? c.Mul(c.G, leftWins) : c.Mul(c.G, c.Sub(c.C(1), leftWins));
}
