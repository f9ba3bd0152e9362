using System.Numerics;

namespace Nn.Runtime.IR;

/// <summary>The scalar meaning of every elementwise op, in any IEEE float type. Shared by the reference
/// interpreter and constant folding, so both give the same value.</summary>
public static class ScalarOps<T> where T : IBinaryFloatingPointIeee754<T>
{
    private static readonly T Half = T.CreateChecked(0.5);
    private static readonly T GeluC = T.CreateChecked(Math.Sqrt(2.0 / Math.PI));
    private static readonly T GeluA = T.CreateChecked(0.044715);

    /// <summary>A unary op at <paramref name="x"/>; <paramref name="alpha"/> is LeakyRelu's slope or Elu's scale.</summary>
    public static T Unary(OpKind op, T x, T alpha) => op switch
    {
        OpKind.Neg => -x,
        OpKind.Exp => T.Exp(x),
        OpKind.Log => T.Log(x),
        OpKind.Sqrt => T.Sqrt(x),
        OpKind.Abs => T.Abs(x),
        OpKind.Sign => T.IsNaN(x) ? x : T.CreateChecked(T.Sign(x)),
        OpKind.Tanh => T.Tanh(x),
        OpKind.Sigmoid => Sigmoid(x),
        OpKind.Relu => x > T.Zero ? x : T.Zero,
        OpKind.LeakyRelu => x > T.Zero ? x : alpha * x,
        OpKind.Elu => x > T.Zero ? x : alpha * T.ExpM1(x),
        OpKind.Gelu => Half * x * (T.One + T.Tanh(GeluC * (x + GeluA * x * x * x))),
        // max(x, 0) + log(1 + e^-|x|) never overflows.
        OpKind.Softplus => T.Max(x, T.Zero) + T.LogP1(T.Exp(-T.Abs(x))),
        OpKind.Sin => T.Sin(x),
        OpKind.Cos => T.Cos(x),
        OpKind.Square => x * x,
        OpKind.Reciprocal => T.One / x,
        OpKind.Step => x > T.Zero ? T.One : T.Zero,
        _ => throw Throw.Bug($"{op} is not a unary elementwise op"),
    };

    /// <summary>A binary op.</summary>
    public static T Binary(OpKind op, T a, T b) => op switch
    {
        OpKind.Add => a + b,
        OpKind.Sub => a - b,
        OpKind.Mul => a * b,
        OpKind.Div => a / b,
        OpKind.Pow => T.Pow(a, b),
        OpKind.Max => T.Max(a, b),
        OpKind.Min => T.Min(a, b),
        OpKind.GreaterEqual => a >= b ? T.One : T.Zero,
        OpKind.Equal => a == b ? T.One : T.Zero,
        _ => throw Throw.Bug($"{op} is not a binary elementwise op"),
    };

    /// <summary>The logistic function, computed without overflow for large |x|.</summary>
    public static T Sigmoid(T x)
    {
        if (x >= T.Zero) return T.One / (T.One + T.Exp(-x));
        var e = T.Exp(x);
        return e / (T.One + e);
    }

    /// <summary>True for the unary elementwise ops (Neg..Step).</summary>
    public static bool IsUnary(OpKind op) => op is >= OpKind.Neg and <= OpKind.Step;
    /// <summary>True for the binary elementwise ops (Add..Equal).</summary>
    public static bool IsBinary(OpKind op) => op is >= OpKind.Add and <= OpKind.Equal;
}
