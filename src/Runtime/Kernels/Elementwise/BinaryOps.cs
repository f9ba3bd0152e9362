using System.Runtime.Intrinsics;
using V512 = System.Runtime.Intrinsics.Vector512<float>;
using V256 = System.Runtime.Intrinsics.Vector256<float>;

namespace Nn.Runtime.Kernels;

// One readonly struct per binary operator. Parameterised activations (leakyRelu, elu) take their
// parameter as the second operand, so they run through Elementwise.BinaryScalar. The *Grad operators are
// the backward pass's helpers: the first operand is the forward value, the second the incoming gradient.

/// <summary>x + y.</summary>
internal readonly struct AddOp : IBinaryOp
{
    public static float Invoke(float x, float y) => x + y;
    public static V512 Invoke(V512 x, V512 y) => x + y;
    public static V256 Invoke(V256 x, V256 y) => x + y;
}

/// <summary>x − y.</summary>
internal readonly struct SubOp : IBinaryOp
{
    public static float Invoke(float x, float y) => x - y;
    public static V512 Invoke(V512 x, V512 y) => x - y;
    public static V256 Invoke(V256 x, V256 y) => x - y;
}

/// <summary>x · y.</summary>
internal readonly struct MulOp : IBinaryOp
{
    public static float Invoke(float x, float y) => x * y;
    public static V512 Invoke(V512 x, V512 y) => x * y;
    public static V256 Invoke(V256 x, V256 y) => x * y;
}

/// <summary>x / y.</summary>
internal readonly struct DivOp : IBinaryOp
{
    public static float Invoke(float x, float y) => x / y;
    public static V512 Invoke(V512 x, V512 y) => x / y;
    public static V256 Invoke(V256 x, V256 y) => x / y;
}

/// <summary>max(x, y).</summary>
internal readonly struct MaxOp : IBinaryOp
{
    public static float Invoke(float x, float y) => MathF.Max(x, y);
    public static V512 Invoke(V512 x, V512 y) => Vector512.Max(x, y);
    public static V256 Invoke(V256 x, V256 y) => Vector256.Max(x, y);
}

/// <summary>min(x, y).</summary>
internal readonly struct MinOp : IBinaryOp
{
    public static float Invoke(float x, float y) => MathF.Min(x, y);
    public static V512 Invoke(V512 x, V512 y) => Vector512.Min(x, y);
    public static V256 Invoke(V256 x, V256 y) => Vector256.Min(x, y);
}

/// <summary>xʸ (see <see cref="VectorMath.Pow"/> for the special cases the vector form follows).</summary>
internal readonly struct PowOp : IBinaryOp
{
    public static float Invoke(float x, float y) => MathF.Pow(x, y);
    public static V512 Invoke(V512 x, V512 y) => VectorMath.Pow(x, y);
    public static V256 Invoke(V256 x, V256 y) => VectorMath.Narrow<PowOp>(x, y);
}

/// <summary>leakyRelu with slope y: x if x &gt; 0 else y·x.</summary>
internal readonly struct LeakyReluOp : IBinaryOp
{
    public static float Invoke(float x, float y) => x > 0f ? x : y * x;
    public static V512 Invoke(V512 x, V512 y) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(x, V512.Zero), x, y * x);
    public static V256 Invoke(V256 x, V256 y) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(x, V256.Zero), x, y * x);
}

/// <summary>elu with scale y: x if x &gt; 0 else y·(eˣ − 1).</summary>
internal readonly struct EluOp : IBinaryOp
{
    public static float Invoke(float x, float y) => x > 0f ? x : y * (float)(Math.Exp(x) - 1.0);
    public static V512 Invoke(V512 x, V512 y) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(x, V512.Zero), x,
            y * VectorMath.Expm1(Vector512.Min(x, V512.Zero)));
    public static V256 Invoke(V256 x, V256 y) => VectorMath.Narrow<EluOp>(x, y);
}
