using System.Diagnostics.CodeAnalysis;

namespace Nn.Runtime.Kernels;

/// <summary>
/// The one place kernels throw programmer errors (bad sizes, short buffers), kept out of line so the hot
/// paths stay small, as <c>TensorPrimitives</c>' ThrowHelper does.
/// </summary>
internal static class KernelThrow
{
    [DoesNotReturn]
    public static void Argument(string name, string message) => throw new ArgumentException(message, name);

    [DoesNotReturn]
    public static void ShortBuffer(string name, long needed, long actual) =>
        throw new ArgumentException($"buffer '{name}' holds {actual} floats but {needed} are needed", name);

    [DoesNotReturn]
    public static void Negative(string name, long value) =>
        throw new ArgumentOutOfRangeException(name, value, "must not be negative");

    /// <summary>Checks that a row-major matrix of <paramref name="rows"/>×<paramref name="cols"/> with row stride
    /// <paramref name="ld"/> fits in <paramref name="length"/> floats.</summary>
    public static void CheckMatrix(string name, int rows, int cols, int ld, int length)
    {
        if (rows < 0) Negative(name + ".rows", rows);
        if (cols < 0) Negative(name + ".cols", cols);
        if (ld < cols || ld < 0) Argument(name, $"leading dimension {ld} is smaller than the row width {cols}");
        if (rows == 0 || cols == 0) return;
        long needed = (long)(rows - 1) * ld + cols;
        if (length < needed) ShortBuffer(name, needed, length);
    }

    /// <summary>Checks that a span holds at least <paramref name="needed"/> floats.</summary>
    public static void CheckLength(string name, long needed, int length)
    {
        if (length < needed) ShortBuffer(name, needed, length);
    }
}
