using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>
/// Vector forms of the transcendental functions the operators need beyond what <see cref="Vector512"/> offers
/// (it has Exp, Log, Sin, Cos). Each is written once for 16 lanes; the 8-lane forms widen to 16 lanes, which is
/// exact and, on machines without AVX-512, still correct (the runtime splits a 512-bit vector in two).
/// </summary>
internal static class VectorMath
{
    /// <summary>The 8-lane form of a 16-lane function: widen, apply, take the lower half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Narrow<TOp>(Vector256<float> x) where TOp : struct, IUnaryOp =>
        TOp.Invoke(x.ToVector512()).GetLower();

    /// <summary>The 8-lane form of a 16-lane binary function: widen, apply, take the lower half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Narrow<TOp>(Vector256<float> x, Vector256<float> y) where TOp : struct, IBinaryOp =>
        TOp.Invoke(x.ToVector512(), y.ToVector512()).GetLower();

    /// <summary>tanh by a 13/6 rational approximation on [-7.9, 7.9] (Eigen's), exact ±1 beyond, x
    /// itself when |x| &lt; 4e-4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x)
    {
        var clamp = Vector512.Create(7.90531110763549805f);
        var xc = Vector512.Clamp(x, -clamp, clamp);
        var x2 = xc * xc;
        var p = Vector512.Create(-2.76076847742355e-16f);
        p = Vector512.FusedMultiplyAdd(p, x2, Vector512.Create(2.00018790482477e-13f));
        p = Vector512.FusedMultiplyAdd(p, x2, Vector512.Create(-8.60467152213735e-11f));
        p = Vector512.FusedMultiplyAdd(p, x2, Vector512.Create(5.12229709037114e-08f));
        p = Vector512.FusedMultiplyAdd(p, x2, Vector512.Create(1.48572235717979e-05f));
        p = Vector512.FusedMultiplyAdd(p, x2, Vector512.Create(6.37261928875436e-04f));
        p = Vector512.FusedMultiplyAdd(p, x2, Vector512.Create(4.89352455891786e-03f));
        p *= xc;
        var q = Vector512.Create(1.19825839466702e-06f);
        q = Vector512.FusedMultiplyAdd(q, x2, Vector512.Create(1.18534705686654e-04f));
        q = Vector512.FusedMultiplyAdd(q, x2, Vector512.Create(2.26843463243900e-03f));
        q = Vector512.FusedMultiplyAdd(q, x2, Vector512.Create(4.89352518554385e-03f));
        var r = p / q;
        var tiny = Vector512.LessThan(Vector512.Abs(x), Vector512.Create(0.0004f));
        return Vector512.ConditionalSelect(tiny, x, r);
    }

    /// <summary>1 / (1 + e^-x); relative accuracy is that of exp, also for large negative x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x) =>
        Vector512<float>.One / (Vector512<float>.One + Vector512.Exp(-x));

    /// <summary>log(1 + e) for e ≥ 0, accurate for tiny e: log(u)·e/(u−1) with u = 1 + e (Goldberg's trick).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Log1pNonNegative(Vector512<float> e)
    {
        var u = Vector512<float>.One + e;
        var d = u - Vector512<float>.One;
        var r = Vector512.Log(u) * e / d;
        return Vector512.ConditionalSelect(Vector512.Equals(d, Vector512<float>.Zero), e, r);
    }

    /// <summary>e^x − 1, accurate near 0 (Kahan's trick (u−1)·x/log u for |x| &lt; 0.5).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Expm1(Vector512<float> x)
    {
        var u = Vector512.Exp(x);
        var um1 = u - Vector512<float>.One;
        var small = um1 * x / Vector512.Log(u);
        small = Vector512.ConditionalSelect(Vector512.Equals(um1, Vector512<float>.Zero), x, small);
        var useSmall = Vector512.LessThan(Vector512.Abs(x), Vector512.Create(0.5f));
        return Vector512.ConditionalSelect(useSmall, small, um1);
    }

    /// <summary>
    /// x^y as exp(y·log|x|) with IEEE-style special cases: x = 0 gives 0, 1 or ∞ by the sign of y;
    /// negative x gives ±|x|^y for integer y and NaN otherwise; y = 0 gives 1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Pow(Vector512<float> x, Vector512<float> y)
    {
        var ax = Vector512.Abs(x);
        var r = Vector512.Exp(y * Vector512.Log(ax));
        var yIsInt = Vector512.Equals(Vector512.Floor(y), y);
        var half = y * Vector512.Create(0.5f);
        var yIsOdd = yIsInt & ~Vector512.Equals(Vector512.Floor(half), half);
        var neg = Vector512.LessThan(x, Vector512<float>.Zero);
        r = Vector512.ConditionalSelect(neg & yIsOdd, -r, r);
        r = Vector512.ConditionalSelect(neg & ~yIsInt, Vector512.Create(float.NaN), r);
        var zeroX = Vector512.Equals(ax, Vector512<float>.Zero);
        var atZero = Vector512.ConditionalSelect(Vector512.GreaterThan(y, Vector512<float>.Zero), Vector512<float>.Zero,
            Vector512.Create(float.PositiveInfinity));
        atZero = Vector512.ConditionalSelect(neg & yIsOdd, -atZero, atZero);
        r = Vector512.ConditionalSelect(zeroX, atZero, r);
        return Vector512.ConditionalSelect(Vector512.Equals(y, Vector512<float>.Zero), Vector512<float>.One, r);
    }
}
