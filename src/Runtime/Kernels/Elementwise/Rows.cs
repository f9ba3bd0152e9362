using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>
/// Row-wise kernels on a row-major matrix of <c>rows × cols</c> (rows = length / cols): softmax and
/// logSoftmax over the last axis (numerically stable: the row maximum is subtracted first), column sums, and the
/// sum and maximum of a span.
/// </summary>
internal static class Rows
{
    /// <summary>y[r, :] = exp(x[r, :] − max) / Σ exp(x[r, :] − max).</summary>
    public static void Softmax(ReadOnlySpan<float> x, Span<float> y, int cols)
    {
        int rows = CheckRows(x.Length, cols, y.Length);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * cols, cols);
            var yr = y.Slice(r * cols, cols);
            float max = Max(xr);
            Elementwise.BinaryScalar<Then<SubOp, ExpOp>>(xr, max, yr);
            Elementwise.BinaryScalar<MulOp>(yr, 1f / Sum(yr), yr);
        }
    }

    /// <summary>y[r, :] = x[r, :] − max − log Σ exp(x[r, :] − max).</summary>
    public static void LogSoftmax(ReadOnlySpan<float> x, Span<float> y, int cols)
    {
        int rows = CheckRows(x.Length, cols, y.Length);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * cols, cols);
            var yr = y.Slice(r * cols, cols);
            float max = Max(xr);
            Elementwise.BinaryScalar<Then<SubOp, ExpOp>>(xr, max, yr);
            float shift = max + MathF.Log(Sum(yr));
            Elementwise.BinaryScalar<SubOp>(xr, shift, yr);
        }
    }

    /// <summary>dst[j] = Σ_r x[r, j] (sum over rows; the bias gradient of <c>x @ w + b</c>). dst has
    /// <paramref name="cols"/> values.</summary>
    public static void ColumnSums(ReadOnlySpan<float> x, int cols, Span<float> dst)
    {
        int rows = CheckRows(x.Length, cols, x.Length);
        KernelThrow.CheckLength(nameof(dst), cols, dst.Length);
        var d = dst[..cols];
        d.Clear();
        for (int r = 0; r < rows; r++) Elementwise.Binary<AddOp>(d, x.Slice(r * cols, cols), d);
    }

    /// <summary>The sum of a span (16-lane accumulators, then a horizontal add).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Sum(ReadOnlySpan<float> x)
    {
        ref float p = ref MemoryMarshal.GetReference(x);
        nuint n = (nuint)x.Length, i = 0;
        float s = 0f;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var a0 = Vector512<float>.Zero; var a1 = a0;
            for (; i + 32 <= n; i += 32)
            {
                a0 += Vector512.LoadUnsafe(ref p, i); a1 += Vector512.LoadUnsafe(ref p, i + 16);
            }
            for (; i + 16 <= n; i += 16) a0 += Vector512.LoadUnsafe(ref p, i);
            s = Vector512.Sum(a0 + a1);
        }
        for (; i < n; i++) s += Unsafe.Add(ref p, i);
        return s;
    }

    /// <summary>The largest value of a non-empty span (NaN if any value is NaN is not guaranteed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Max(ReadOnlySpan<float> x)
    {
        ref float p = ref MemoryMarshal.GetReference(x);
        nuint n = (nuint)x.Length, i = 0;
        float m = float.NegativeInfinity;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var a = Vector512.Create(float.NegativeInfinity);
            for (; i + 16 <= n; i += 16) a = Vector512.Max(a, Vector512.LoadUnsafe(ref p, i));
            for (int l = 0; l < 16; l++) m = MathF.Max(m, a[l]);
        }
        for (; i < n; i++) m = MathF.Max(m, Unsafe.Add(ref p, i));
        return m;
    }

    private static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        nuint n = (nuint)x.Length, i = 0;
        float s = 0f;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var a = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16)
                a = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref px, i), Vector512.LoadUnsafe(ref py, i), a);
            s = Vector512.Sum(a);
        }
        for (; i < n; i++) s += Unsafe.Add(ref px, i) * Unsafe.Add(ref py, i);
        return s;
    }

    private static int CheckRows(int length, int cols, int dstLength)
    {
        if (cols < 0) KernelThrow.Negative(nameof(cols), cols);
        if (cols == 0)
        {
            if (length != 0) KernelThrow.Argument(nameof(cols), "zero columns but a non-empty matrix"); return 0;
        }
        if (length % cols != 0)
            KernelThrow.Argument(nameof(cols), $"length {length} is not a multiple of {cols} columns");
        KernelThrow.CheckLength("destination", length, dstLength);
        return length / cols;
    }
}
