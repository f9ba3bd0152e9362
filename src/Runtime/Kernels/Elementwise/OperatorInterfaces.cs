using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>
/// A float → float operator with a scalar and two vector forms that compute the same function.
/// The drivers in <see cref="Elementwise"/> write the loop once; an operator only says what to do to a value.
/// </summary>
public interface IUnaryOp
{
    /// <summary>The function on one value.</summary>
    static abstract float Invoke(float x);
    /// <summary>The function on 16 values.</summary>
    static abstract Vector512<float> Invoke(Vector512<float> x);
    /// <summary>The function on 8 values.</summary>
    static abstract Vector256<float> Invoke(Vector256<float> x);
}

/// <summary>A (float, float) → float operator with a scalar and two vector forms; see <see cref="IUnaryOp"/>.</summary>
public interface IBinaryOp
{
    /// <summary>The function on one pair.</summary>
    static abstract float Invoke(float x, float y);
    /// <summary>The function on 16 pairs.</summary>
    static abstract Vector512<float> Invoke(Vector512<float> x, Vector512<float> y);
    /// <summary>The function on 8 pairs.</summary>
    static abstract Vector256<float> Invoke(Vector256<float> x, Vector256<float> y);
}

/// <summary>A fused unary operator: <c>TOuter(TInner(x))</c> in one pass, the value never leaving registers.</summary>
public readonly struct Compose<TOuter, TInner> : IUnaryOp
    where TOuter : struct, IUnaryOp where TInner : struct, IUnaryOp
{
    /// <inheritdoc cref="IUnaryOp.Invoke(float)"/>
    public static float Invoke(float x) => TOuter.Invoke(TInner.Invoke(x));
    /// <inheritdoc cref="IUnaryOp.Invoke(Vector512{float})"/>
    public static Vector512<float> Invoke(Vector512<float> x) => TOuter.Invoke(TInner.Invoke(x));
    /// <inheritdoc cref="IUnaryOp.Invoke(Vector256{float})"/>
    public static Vector256<float> Invoke(Vector256<float> x) => TOuter.Invoke(TInner.Invoke(x));
}

/// <summary>A fused binary-then-unary operator: <c>TThen(TFirst(x, y))</c>, e.g. <c>relu(x + b)</c>.</summary>
public readonly struct Then<TFirst, TThen> : IBinaryOp where TFirst : struct, IBinaryOp where TThen : struct, IUnaryOp
{
    /// <inheritdoc cref="IBinaryOp.Invoke(float, float)"/>
    public static float Invoke(float x, float y) => TThen.Invoke(TFirst.Invoke(x, y));
    /// <inheritdoc cref="IBinaryOp.Invoke(Vector512{float}, Vector512{float})"/>
    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => TThen.Invoke(TFirst.Invoke(x, y));
    /// <inheritdoc cref="IBinaryOp.Invoke(Vector256{float}, Vector256{float})"/>
    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => TThen.Invoke(TFirst.Invoke(x, y));
}
