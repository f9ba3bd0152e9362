using System.Runtime.Intrinsics;
using V512 = System.Runtime.Intrinsics.Vector512<float>;
using V256 = System.Runtime.Intrinsics.Vector256<float>;

namespace Nn.Runtime.Kernels;

// One readonly struct per unary operator: a scalar form and two vector forms computing the same function.
// Operators whose vector form lives in VectorMath take their 8-lane form through VectorMath.Narrow.

/// <summary>−x.</summary>
internal readonly struct NegOp : IUnaryOp
{
    public static float Invoke(float x) => -x;
    public static V512 Invoke(V512 x) => -x;
    public static V256 Invoke(V256 x) => -x;
}

/// <summary>|x|.</summary>
internal readonly struct AbsOp : IUnaryOp
{
    public static float Invoke(float x) => MathF.Abs(x);
    public static V512 Invoke(V512 x) => Vector512.Abs(x);
    public static V256 Invoke(V256 x) => Vector256.Abs(x);
}

/// <summary>x².</summary>
internal readonly struct SquareOp : IUnaryOp
{
    public static float Invoke(float x) => x * x;
    public static V512 Invoke(V512 x) => x * x;
    public static V256 Invoke(V256 x) => x * x;
}

/// <summary>√x.</summary>
internal readonly struct SqrtOp : IUnaryOp
{
    public static float Invoke(float x) => MathF.Sqrt(x);
    public static V512 Invoke(V512 x) => Vector512.Sqrt(x);
    public static V256 Invoke(V256 x) => Vector256.Sqrt(x);
}

/// <summary>eˣ.</summary>
internal readonly struct ExpOp : IUnaryOp
{
    public static float Invoke(float x) => MathF.Exp(x);
    public static V512 Invoke(V512 x) => Vector512.Exp(x);
    public static V256 Invoke(V256 x) => Vector256.Exp(x);
}

/// <summary>ln x.</summary>
internal readonly struct LogOp : IUnaryOp
{
    public static float Invoke(float x) => MathF.Log(x);
    public static V512 Invoke(V512 x) => Vector512.Log(x);
    public static V256 Invoke(V256 x) => Vector256.Log(x);
}

/// <summary>sin x.</summary>
internal readonly struct SinOp : IUnaryOp
{
    public static float Invoke(float x) => MathF.Sin(x);
    public static V512 Invoke(V512 x) => Vector512.Sin(x);
    public static V256 Invoke(V256 x) => Vector256.Sin(x);
}

/// <summary>cos x.</summary>
internal readonly struct CosOp : IUnaryOp
{
    public static float Invoke(float x) => MathF.Cos(x);
    public static V512 Invoke(V512 x) => Vector512.Cos(x);
    public static V256 Invoke(V256 x) => Vector256.Cos(x);
}

/// <summary>tanh x.</summary>
internal readonly struct TanhOp : IUnaryOp
{
    public static float Invoke(float x) => MathF.Tanh(x);
    public static V512 Invoke(V512 x) => VectorMath.Tanh(x);
    public static V256 Invoke(V256 x) => VectorMath.Narrow<TanhOp>(x);
}

/// <summary>1 / (1 + e⁻ˣ).</summary>
internal readonly struct SigmoidOp : IUnaryOp
{
    public static float Invoke(float x) => 1f / (1f + MathF.Exp(-x));
    public static V512 Invoke(V512 x) => VectorMath.Sigmoid(x);
    public static V256 Invoke(V256 x) => VectorMath.Narrow<SigmoidOp>(x);
}

/// <summary>max(x, 0).</summary>
internal readonly struct ReluOp : IUnaryOp
{
    public static float Invoke(float x) => x > 0f ? x : 0f;
    public static V512 Invoke(V512 x) => Vector512.Max(x, V512.Zero);
    public static V256 Invoke(V256 x) => Vector256.Max(x, V256.Zero);
}

/// <summary>GELU, tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³))), computed as x·σ(2u) for accuracy at large
/// negative x.</summary>
internal readonly struct GeluOp : IUnaryOp
{
    private const float K = 0.7978845608028654f; // √(2/π)
    public static float Invoke(float x)
    {
        float u = K * (x + 0.044715f * x * x * x);
        return x / (1f + MathF.Exp(-2f * u));
    }
    public static V512 Invoke(V512 x)
    {
        var u = Vector512.Create(2f * K) * Vector512.FusedMultiplyAdd(Vector512.Create(0.044715f) * x, x * x, x);
        return x * VectorMath.Sigmoid(u);
    }
    public static V256 Invoke(V256 x) => VectorMath.Narrow<GeluOp>(x);
}

/// <summary>softplus x = ln(1 + eˣ), computed stably as max(x, 0) + log1p(e^−|x|).</summary>
internal readonly struct SoftplusOp : IUnaryOp
{
    public static float Invoke(float x)
    {
        double e = Math.Exp(-Math.Abs((double)x)), u = 1.0 + e;
        return MathF.Max(x, 0f) + (float)(u == 1.0 ? e : Math.Log(u) * e / (u - 1.0));
    }
    public static V512 Invoke(V512 x) =>
        Vector512.Max(x, V512.Zero) + VectorMath.Log1pNonNegative(Vector512.Exp(-Vector512.Abs(x)));
    public static V256 Invoke(V256 x) => VectorMath.Narrow<SoftplusOp>(x);
}
