using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>The fused epilogue over one row of a finished tile: bias add and activation (forward), or the product by
/// an activation's derivative at its output (backward).</summary>
internal static unsafe class Epilogue
{
    public static void Apply(Span<float> row, float* bias, Activation act)
    {
        if (bias == null)
        {
            switch (act)
            {
                case Activation.Relu: Elementwise.Unary<ReluOp>(row, row); break;
                case Activation.Tanh: Elementwise.Unary<TanhOp>(row, row); break;
                case Activation.Sigmoid: Elementwise.Unary<SigmoidOp>(row, row); break;
            }
            return;
        }
        var b = new ReadOnlySpan<float>(bias, row.Length);
        switch (act)
        {
            case Activation.Identity: Elementwise.Binary<AddOp>(row, b, row); break;
            case Activation.Relu: Elementwise.Binary<Then<AddOp, ReluOp>>(row, b, row); break;
            case Activation.Tanh: Elementwise.Binary<Then<AddOp, TanhOp>>(row, b, row); break;
            case Activation.Sigmoid: Elementwise.Binary<Then<AddOp, SigmoidOp>>(row, b, row); break;
        }
    }

    /// <summary>row[j] ·= act′ at y[j], the activation's output (see <see cref="Gemm.Multiply(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int, ReadOnlySpan{float}, Activation, ReadOnlySpan{float}, int, Activation, int)"/>).</summary>
    public static void Derivative(Span<float> row, float* y, Activation of)
    {
        var dy = new ReadOnlySpan<float>(y, row.Length);
        switch (of)
        {
            case Activation.Relu: Elementwise.Binary<TimesReluDerivative>(row, dy, row); break;
            case Activation.Tanh: Elementwise.Binary<TimesTanhDerivative>(row, dy, row); break;
            case Activation.Sigmoid: Elementwise.Binary<TimesSigmoidDerivative>(row, dy, row); break;
        }
    }
}

/// <summary>g · step(y): relu's derivative at its output y (1 where y &gt; 0, else 0), as the backward pass computes it.</summary>
internal readonly struct TimesReluDerivative : IBinaryOp
{
    public static float Invoke(float g, float y) => g * (y > 0f ? 1f : 0f);
    public static Vector512<float> Invoke(Vector512<float> g, Vector512<float> y) => g * (Vector512.GreaterThan(y, Vector512<float>.Zero) & Vector512<float>.One);
    public static Vector256<float> Invoke(Vector256<float> g, Vector256<float> y) => g * (Vector256.GreaterThan(y, Vector256<float>.Zero) & Vector256<float>.One);
}

/// <summary>g · (1 − y²): tanh's derivative at its output y.</summary>
internal readonly struct TimesTanhDerivative : IBinaryOp
{
    public static float Invoke(float g, float y) => g * (1f - y * y);
    public static Vector512<float> Invoke(Vector512<float> g, Vector512<float> y) => g * (Vector512<float>.One - y * y);
    public static Vector256<float> Invoke(Vector256<float> g, Vector256<float> y) => g * (Vector256<float>.One - y * y);
}

/// <summary>g · (y · (1 − y)): the logistic sigmoid's derivative at its output y.</summary>
internal readonly struct TimesSigmoidDerivative : IBinaryOp
{
    public static float Invoke(float g, float y) => g * (y * (1f - y));
    public static Vector512<float> Invoke(Vector512<float> g, Vector512<float> y) => g * (y * (Vector512<float>.One - y));
    public static Vector256<float> Invoke(Vector256<float> g, Vector256<float> y) => g * (y * (Vector256<float>.One - y));
}
