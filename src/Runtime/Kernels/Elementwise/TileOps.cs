using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

// Operators the kernel library does not have, in its operator-struct form so the generic drivers run them.

/// <summary>x itself: a copy through the drivers (<see cref="Elementwise.CopyStreaming"/>).</summary>
internal readonly struct IdentityOp : IUnaryOp
{
    public static float Invoke(float x) => x;
    public static Vector512<float> Invoke(Vector512<float> x) => x;
    public static Vector256<float> Invoke(Vector256<float> x) => x;
}

/// <summary>1 where x &gt; 0, else 0 (relu's derivative mask).</summary>
internal readonly struct StepOp : IUnaryOp
{
    public static float Invoke(float x) => x > 0f ? 1f : 0f;
    public static Vector512<float> Invoke(Vector512<float> x) =>
        Vector512.GreaterThan(x, Vector512<float>.Zero) & Vector512<float>.One;
    public static Vector256<float> Invoke(Vector256<float> x) =>
        Vector256.GreaterThan(x, Vector256<float>.Zero) & Vector256<float>.One;
}

/// <summary>−1, 0 or 1 (NaN stays NaN).</summary>
internal readonly struct SignOp : IUnaryOp
{
    public static float Invoke(float x) => float.IsNaN(x) ? x : MathF.Sign(x);
    public static Vector512<float> Invoke(Vector512<float> x) =>
        (Vector512.GreaterThan(x, Vector512<float>.Zero) & Vector512<float>.One)
        - (Vector512.LessThan(x, Vector512<float>.Zero) & Vector512<float>.One)
        + (~Vector512.Equals(x, x) & x);
    public static Vector256<float> Invoke(Vector256<float> x) =>
        (Vector256.GreaterThan(x, Vector256<float>.Zero) & Vector256<float>.One)
        - (Vector256.LessThan(x, Vector256<float>.Zero) & Vector256<float>.One)
        + (~Vector256.Equals(x, x) & x);
}

/// <summary>1 / x.</summary>
internal readonly struct ReciprocalOp : IUnaryOp
{
    public static float Invoke(float x) => 1f / x;
    public static Vector512<float> Invoke(Vector512<float> x) => Vector512<float>.One / x;
    public static Vector256<float> Invoke(Vector256<float> x) => Vector256<float>.One / x;
}

/// <summary>1 where x ≥ y, else 0.</summary>
internal readonly struct GreaterEqualOp : IBinaryOp
{
    public static float Invoke(float x, float y) => x >= y ? 1f : 0f;
    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) =>
        Vector512.GreaterThanOrEqual(x, y) & Vector512<float>.One;
    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) =>
        Vector256.GreaterThanOrEqual(x, y) & Vector256<float>.One;
}

/// <summary>1 where x == y, else 0.</summary>
internal readonly struct EqualOp : IBinaryOp
{
    public static float Invoke(float x, float y) => x == y ? 1f : 0f;
    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) =>
        Vector512.Equals(x, y) & Vector512<float>.One;
    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) =>
        Vector256.Equals(x, y) & Vector256<float>.One;
}

/// <summary>An operand of a fused op within one tile: a run of values from <see cref="P"/> on, or one value
/// broadcast over it.</summary>
internal readonly ref struct Arg
{
    public readonly ref float P;
    public readonly float Value;
    public readonly bool IsScalar;
    public Arg(ref float p) { P = ref p; Value = 0; IsScalar = false; }
    public Arg(float value) { P = ref Unsafe.NullRef<float>(); Value = value; IsScalar = true; }
    public float this[nuint i] => IsScalar ? Value : Unsafe.Add(ref P, i);
}

/// <summary>Runs one elementwise op over a tile of n values at d with the kernel library's generic drivers.</summary>
internal static class ElementOps
{
    public static void Unary<TOp>(in Arg x, ref float d, nuint n) where TOp : struct, IUnaryOp
    {
        if (x.IsScalar) MemoryMarshal.CreateSpan(ref d, (int)n).Fill(TOp.Invoke(x.Value));
        else Elementwise.UnaryCore<TOp, Temporal>(ref x.P, ref d, n);
    }

    public static void Binary<TOp>(in Arg x, in Arg y, ref float d, nuint n) where TOp : struct, IBinaryOp
    {
        if (x.IsScalar && y.IsScalar)
        {
            MemoryMarshal.CreateSpan(ref d, (int)n).Fill(TOp.Invoke(x.Value, y.Value));
            return;
        }
        if (y.IsScalar)
        {
            float v = y.Value;
            Elementwise.BinaryCore<TOp, Elementwise.Many, Elementwise.One, Temporal>(ref x.P, ref v, ref d, n);
        }
        else if (x.IsScalar)
        {
            float v = x.Value;
            Elementwise.BinaryCore<TOp, Elementwise.One, Elementwise.Many, Temporal>(ref v, ref y.P, ref d, n);
        }
        else Elementwise.BinaryCore<TOp, Elementwise.Many, Elementwise.Many, Temporal>(ref x.P, ref y.P, ref d, n);
    }

    public static void Where(in Arg c, in Arg a, in Arg b, ref float d, nuint n)
    {
        for (nuint i = 0; i < n; i++) Unsafe.Add(ref d, i) = c[i] != 0f ? a[i] : b[i];
    }

    public static void Copy(in Arg x, ref float d, nuint n)
    {
        var dst = MemoryMarshal.CreateSpan(ref d, (int)n);
        if (x.IsScalar) dst.Fill(x.Value);
        else if (!Unsafe.AreSame(ref x.P, ref d)) MemoryMarshal.CreateReadOnlySpan(ref x.P, (int)n).CopyTo(dst);
    }

    /// <summary>True when every value is finite (x − x is 0 exactly for finite x, NaN otherwise).</summary>
    public static bool AllFinite(ReadOnlySpan<float> x)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var acc = Vector512<float>.Zero;
            for (; i + 16 <= x.Length; i += 16) { var v = Vector512.Create(x.Slice(i, 16)); acc += v - v; }
            if (!Vector512.EqualsAll(acc, Vector512<float>.Zero)) return false;
        }
        for (; i < x.Length; i++) if (!float.IsFinite(x[i])) return false;
        return true;
    }
}
