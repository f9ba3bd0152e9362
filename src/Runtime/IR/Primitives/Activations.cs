using System.Numerics;
using System.Runtime.Intrinsics;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.IR;

/// <summary>The activation functions. Each definition: built-in name, scalar meaning (<c>Apply</c>, float64 and
/// float32), kernel operator (type argument), gradient rule, and the GEMM epilogue where one exists.</summary>
internal static class Activations
{
    /// <summary>The logistic function, computed without overflow for large |x|.</summary>
    public static T Logistic<T>(T x) where T : IBinaryFloatingPointIeee754<T>
    {
        if (x >= T.Zero) return T.One / (T.One + T.Exp(-x));
        var e = T.Exp(x);
        return e / (T.One + e);
    }

    internal sealed class Tanh : UnaryPrimitive<TanhOp>
    {
        public override OpKind Kind => OpKind.Tanh;
        public override IReadOnlyList<string> Names => ["tanh"];
        internal override Activation? Epilogue => Activation.Tanh;
        public override T Apply<T>(T x, T alpha) => T.Tanh(x);
        internal override Node? Vjp(Vjp c, int i) => c.Mul(c.G, c.Sub(c.C(1), c.U(OpKind.Square, c.Y)));
    }

    internal sealed class Sigmoid : UnaryPrimitive<SigmoidOp>
    {
        public override OpKind Kind => OpKind.Sigmoid;
        public override IReadOnlyList<string> Names => ["sigmoid"];
        internal override Activation? Epilogue => Activation.Sigmoid;
        public override T Apply<T>(T x, T alpha) => Logistic(x);
        internal override Node? Vjp(Vjp c, int i) => c.Mul(c.G, c.Mul(c.Y, c.Sub(c.C(1), c.Y)));
    }

    internal sealed class Relu : UnaryPrimitive<ReluOp>
    {
        public override OpKind Kind => OpKind.Relu;
        public override IReadOnlyList<string> Names => ["relu"];
        internal override Activation? Epilogue => Activation.Relu;
        public override T Apply<T>(T x, T alpha) => x > T.Zero ? x : T.Zero;
        internal override Node? Vjp(Vjp c, int i) => c.Mul(c.G, c.U(OpKind.Step, c.X(0)));
    }

    /// <summary>x &gt; 0 ? x : alpha·x.</summary>
    internal sealed class LeakyRelu : ParametricPrimitive<LeakyReluOp>
    {
        public override OpKind Kind => OpKind.LeakyRelu;
        public override IReadOnlyList<string> Names => ["leakyRelu"];
        public override double DefaultAlpha => 0.01;
        public override T Apply<T>(T x, T alpha) => x > T.Zero ? x : alpha * x;
        internal override Node? Vjp(Vjp c, int i) => c.Where(c.U(OpKind.Step, c.X(0)), c.G, c.Mul(c.G, c.C(c.A.Value)));
    }

    /// <summary>x &gt; 0 ? x : alpha·(eˣ − 1).</summary>
    internal sealed class Elu : ParametricPrimitive<EluOp>
    {
        public override OpKind Kind => OpKind.Elu;
        public override IReadOnlyList<string> Names => ["elu"];
        public override double DefaultAlpha => 1.0;
        public override T Apply<T>(T x, T alpha) => x > T.Zero ? x : alpha * T.ExpM1(x);
        // for x ≤ 0: d/dx α(eˣ − 1) = αeˣ = y + α
        internal override Node? Vjp(Vjp c, int i) =>
            c.Where(c.U(OpKind.Step, c.X(0)), c.G, c.Mul(c.G, c.Add(c.Y, c.C(c.A.Value))));
    }

    /// <summary>Gaussian error linear unit, tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³))).</summary>
    internal sealed class Gelu : UnaryPrimitive<GeluOp>
    {
        private const double A = 0.044715;
        private static readonly double K = Math.Sqrt(2.0 / Math.PI);
        public override OpKind Kind => OpKind.Gelu;
        public override IReadOnlyList<string> Names => ["gelu"];
        public override T Apply<T>(T x, T alpha)
        {
            T half = T.CreateChecked(0.5), k = T.CreateChecked(K), a = T.CreateChecked(A);
            return half * x * (T.One + T.Tanh(k * (x + a * x * x * x)));
        }

        /// <summary>
        /// d/dx of 0.5·x·(1 + tanh(u)), u = √(2/π)(x + 0.044715x³), written with s = σ(2u) = (1 + tanh u)/2 and
        /// sech²u = 4s(1 − s): s + 2x·u′·s(1 − s). The tanh form loses the small values of x &lt;&lt; 0 to cancellation
        /// (1 + tanh u, 1 − tanh²u: the vectorised tanh's absolute error 2.5e-6 became a 4 % error of the gradient,
        /// seed 829916125); σ keeps them relative, as the forward kernel does (x·σ(2u)).
        /// </summary>
        internal override Node? Vjp(Vjp c, int i)
        {
            var x = c.X(0);
            var x2 = c.U(OpKind.Square, x);
            var s = c.U(OpKind.Sigmoid, c.Mul(c.C(2 * K), c.Add(x, c.Mul(c.C(A), c.Mul(x2, x)))));
            var du = c.Mul(c.C(K), c.Add(c.C(1), c.Mul(c.C(3 * A), x2)));
            var d = c.Mul(s, c.Add(c.C(1), c.Mul(c.Mul(c.C(2), c.Mul(x, du)), c.Sub(c.C(1), s))));
            return c.Mul(c.G, d);
        }
    }

    /// <summary>log(1 + eˣ), computed as max(x, 0) + log(1 + e^−|x|), which never overflows.</summary>
    internal sealed class Softplus : UnaryPrimitive<SoftplusOp>
    {
        public override OpKind Kind => OpKind.Softplus;
        public override IReadOnlyList<string> Names => ["softplus"];
        public override T Apply<T>(T x, T alpha) => T.Max(x, T.Zero) + T.LogP1(T.Exp(-T.Abs(x)));
        internal override Node? Vjp(Vjp c, int i) => c.Mul(c.G, c.U(OpKind.Sigmoid, c.X(0)));
    }

    /// <summary>silu (swish): x·σ(x). Its kernel's scalar form is the same formula in float32.</summary>
    internal sealed class Silu : UnaryPrimitive<Silu.Kernel>
    {
        public override OpKind Kind => OpKind.Silu;
        public override IReadOnlyList<string> Names => ["silu", "swish"];
        public override T Apply<T>(T x, T alpha) => Formula(x);
        public static T Formula<T>(T x) where T : IBinaryFloatingPointIeee754<T> => x * Logistic(x);
        // d/dx x·σ(x) = σ(x) + x·σ(x)(1 − σ(x)) = σ(x)·(1 + x − y)
        internal override Node? Vjp(Vjp c, int i) =>
            c.Mul(c.G, c.Mul(c.U(OpKind.Sigmoid, c.X(0)), c.Add(c.C(1), c.Sub(c.X(0), c.Y))));

        internal readonly struct Kernel : IUnaryOp
        {
            public static float Invoke(float x) => Formula(x);
            public static Vector512<float> Invoke(Vector512<float> x) => x * VectorMath.Sigmoid(x);
            public static Vector256<float> Invoke(Vector256<float> x) => VectorMath.Narrow<Kernel>(x);
        }
    }

    /// <summary>hardSigmoid: clamp(x/6 + 1/2, 0, 1), PyTorch's definition (relu6(x + 3)/6; Keras 2 used 0.2x + 0.5).
    /// The scalar formula multiplies by 1/6 as the vector form does, so the two agree exactly.</summary>
    internal sealed class HardSigmoid : UnaryPrimitive<HardSigmoid.Kernel>
    {
        public override OpKind Kind => OpKind.HardSigmoid;
        public override IReadOnlyList<string> Names => ["hardSigmoid"];
        public override T Apply<T>(T x, T alpha) => Formula(x);
        public static T Formula<T>(T x) where T : IBinaryFloatingPointIeee754<T> =>
            T.Min(T.Max(x * T.CreateChecked(1.0 / 6) + T.CreateChecked(0.5), T.Zero), T.One);
        // 1/6 on (−3, 3), 0 outside (and at ±3, as in PyTorch)
        internal override Node? Vjp(Vjp c, int i)
        {
            var inside = c.Mul(c.U(OpKind.Step, c.Add(c.X(0), c.C(3))), c.U(OpKind.Step, c.Sub(c.C(3), c.X(0))));
            return c.Mul(c.G, c.Mul(inside, c.C(1.0 / 6)));
        }

        internal readonly struct Kernel : IUnaryOp
        {
            public static float Invoke(float x) => Formula(x);
            public static Vector512<float> Invoke(Vector512<float> x) => Vector512.Min(
                Vector512.Max(x * Vector512.Create(1f / 6) + Vector512.Create(0.5f), Vector512<float>.Zero),
                Vector512<float>.One);
            public static Vector256<float> Invoke(Vector256<float> x) => Vector256.Min(
                Vector256.Max(x * Vector256.Create(1f / 6) + Vector256.Create(0.5f), Vector256<float>.Zero),
                Vector256<float>.One);
        }
    }

    /// <summary>logSigmoid: log σ(x) = −softplus(−x), computed as min(x, 0) − log(1 + e^−|x|), which never overflows
    /// and keeps its precision for large negative x (where it is ≈ x).</summary>
    internal sealed class LogSigmoid : UnaryPrimitive<LogSigmoid.Kernel>
    {
        public override OpKind Kind => OpKind.LogSigmoid;
        public override IReadOnlyList<string> Names => ["logSigmoid"];
        public override T Apply<T>(T x, T alpha) => Formula(x);
        public static T Formula<T>(T x) where T : IBinaryFloatingPointIeee754<T> =>
            T.Min(x, T.Zero) - Log1p(T.Exp(-T.Abs(x)));

        /// <summary>log(1 + e) for e ≥ 0, accurate for tiny e also in float32: log(u)·e/(u − 1) with u = 1 + e
        /// (Goldberg's trick, as VectorMath.Log1pNonNegative).</summary>
        private static T Log1p<T>(T e) where T : IBinaryFloatingPointIeee754<T>
        {
            var u = T.One + e;
            return u == T.One ? e : T.Log(u) * e / (u - T.One);
        }
        // d/dx log σ(x) = 1 − σ(x) = σ(−x)
        internal override Node? Vjp(Vjp c, int i) => c.Mul(c.G, c.U(OpKind.Sigmoid, c.Neg(c.X(0))));

        internal readonly struct Kernel : IUnaryOp
        {
            public static float Invoke(float x) => Formula(x);
            public static Vector512<float> Invoke(Vector512<float> x) =>
                Vector512.Min(x, Vector512<float>.Zero) - VectorMath.Log1pNonNegative(Vector512.Exp(-Vector512.Abs(x)));
            public static Vector256<float> Invoke(Vector256<float> x) => VectorMath.Narrow<Kernel>(x);
        }
    }
}
