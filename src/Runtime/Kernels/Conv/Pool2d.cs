namespace Nn.Runtime.Kernels;

/// <summary>
/// The geometry of a 2-D pooling in NHWC layout: input [n, h, w, c], a size×size window moved by <c>Stride</c>, output
/// [n, oh, ow, c] with the output size and paddings of <see cref="WindowGeometry"/>. Built once by
/// <see cref="Create"/>.
/// </summary>
internal readonly record struct Pool2dShape(
    int Batch, int Height, int Width, int Channels, int Size, int Stride, WindowGeometry Geometry)
{
    /// <summary>The geometry of a pooling; every window must hold at least one cell of the image.</summary>
    public static Pool2dShape Create(int batch, int height, int width, int channels, int size, int stride,
        Padding padding)
    {
        if (batch < 0 || channels < 0) KernelThrow.Argument(nameof(batch), "sizes must not be negative");
        var g = WindowGeometry.Of(height, width, size, size, stride, stride, padding);
        if (!g.Fits)
            KernelThrow.Argument(nameof(size), $"a {size}×{size} window does not fit a {height}×{width} image");
        if (Math.Max(Math.Max(g.PadTop, g.PadLeft), Math.Max(g.PadBottom, g.PadRight)) >= size)
            KernelThrow.Argument(nameof(padding), "a pooling window made only of padding");
        return new(batch, height, width, channels, size, stride, g);
    }

    /// <summary>Floats in the input, n·h·w·c.</summary>
    public int InputLength => Batch * Height * Width * Channels;
    /// <summary>Floats in the output, n·oh·ow·c.</summary>
    public int OutputLength => Batch * Geometry.OutHeight * Geometry.OutWidth * Channels;

    /// <summary>The rows [y0, y1) and columns [x0, x1) of the image under output (oy, ox)'s window (padding
    /// excluded).</summary>
    internal (int Y0, int Y1, int X0, int X1) Window(int oy, int ox)
    {
        int y0 = oy * Stride - Geometry.PadTop, x0 = ox * Stride - Geometry.PadLeft;
        return (Math.Max(y0, 0), Math.Min(y0 + Size, Height), Math.Max(x0, 0), Math.Min(x0 + Size, Width));
    }
}

/// <summary>
/// Max and average pooling and their gradients on a <see cref="Pool2dShape"/>, any window, stride and padding.
/// Padded cells are ignored as in Keras: never a maximum, not counted in a mean (a window's mean divides by its cells
/// inside the image). The first maximum of a window (row-major) takes the gradient.
/// </summary>
internal static partial class Pool2d
{
    /// <summary>output = the maximum of each window per channel.</summary>
    public static void MaxForward(in Pool2dShape s, ReadOnlySpan<float> input, Span<float> output)
    {
        if (!Unpadded(s) || !UseDirect)
        {
            Windows(s, input.Length, output.Length, new MaxOp(), input, output);
            return;
        }
        KernelThrow.CheckLength("input", s.InputLength, input.Length);
        KernelThrow.CheckLength("output", s.OutputLength, output.Length);
        MaxForwardDirect(s, input, output);
    }

    /// <summary>dInput = 0, then each output gradient is added at its window's first maximum in the input.</summary>
    public static void MaxBackward(in Pool2dShape s, ReadOnlySpan<float> input, ReadOnlySpan<float> dOutput,
        Span<float> dInput)
    {
        KernelThrow.CheckLength(nameof(dInput), s.InputLength, dInput.Length);
        if (Unpadded(s) && UseDirect)
        {
            KernelThrow.CheckLength("input", s.InputLength, input.Length);
            KernelThrow.CheckLength("output", s.OutputLength, dOutput.Length);
            MaxBackwardDirect(s, input, dOutput, dInput);
            return;
        }
        dInput[..s.InputLength].Clear();
        Windows(s, input.Length, dOutput.Length, new MaxGradOp(), input, dOutput, dInput);
    }

    /// <summary>output = the mean of each window's cells inside the image, per channel.</summary>
    public static void AvgForward(in Pool2dShape s, ReadOnlySpan<float> input, Span<float> output) =>
        Windows(s, input.Length, output.Length, new AvgOp(), input, output);

    /// <summary>dInput = each output gradient spread evenly over its window's cells inside the image.</summary>
    public static void AvgBackward(in Pool2dShape s, ReadOnlySpan<float> dOutput, Span<float> dInput)
    {
        KernelThrow.CheckLength(nameof(dInput), s.InputLength, dInput.Length);
        dInput[..s.InputLength].Clear();
        Windows(s, s.InputLength, dOutput.Length, new AvgGradOp(), ReadOnlySpan<float>.Empty, dOutput, dInput);
    }

    /// <summary>What one window does for one channel: a is the input (or empty), b the output or output gradient,
    /// d the input gradient (or empty); <c>at(j)</c> is the flat input index of the window's j-th cell.</summary>
    private interface IWindowOp
    {
        void Run(ReadOnlySpan<float> a, Span<float> b, ReadOnlySpan<float> bIn, Span<float> d, int o,
            scoped ReadOnlySpan<int> cells);
    }

    private readonly struct MaxOp : IWindowOp
    {
        public void Run(ReadOnlySpan<float> a, Span<float> b, ReadOnlySpan<float> bIn, Span<float> d, int o,
            scoped ReadOnlySpan<int> cells)
        {
            float best = a[cells[0]];
            for (int j = 1; j < cells.Length; j++) if (a[cells[j]] > best) best = a[cells[j]];
            b[o] = best;
        }
    }

    private readonly struct MaxGradOp : IWindowOp
    {
        public void Run(ReadOnlySpan<float> a, Span<float> b, ReadOnlySpan<float> bIn, Span<float> d, int o,
            scoped ReadOnlySpan<int> cells)
        {
            int best = cells[0];
            for (int j = 1; j < cells.Length; j++) if (a[cells[j]] > a[best]) best = cells[j];
            d[best] += bIn[o];
        }
    }

    private readonly struct AvgOp : IWindowOp
    {
        public void Run(ReadOnlySpan<float> a, Span<float> b, ReadOnlySpan<float> bIn, Span<float> d, int o,
            scoped ReadOnlySpan<int> cells)
        {
            float sum = 0f;
            foreach (int i in cells) sum += a[i];
            b[o] = sum / cells.Length;
        }
    }

    private readonly struct AvgGradOp : IWindowOp
    {
        public void Run(ReadOnlySpan<float> a, Span<float> b, ReadOnlySpan<float> bIn, Span<float> d, int o,
            scoped ReadOnlySpan<int> cells)
        {
            float g = bIn[o] / cells.Length;
            foreach (int i in cells) d[i] += g;
        }
    }

    private static void Windows<TOp>(in Pool2dShape s, int inputLength, int outputLength, TOp op, ReadOnlySpan<float> a,
        Span<float> b) where TOp : struct, IWindowOp =>
        Loop(s, inputLength, outputLength, op, a, b, b, Span<float>.Empty);

    private static void Windows<TOp>(in Pool2dShape s, int inputLength, int outputLength, TOp op, ReadOnlySpan<float> a,
        ReadOnlySpan<float> bIn, Span<float> d) where TOp : struct, IWindowOp =>
        Loop(s, inputLength, outputLength, op, a, Span<float>.Empty, bIn, d);

    /// <summary>Calls the op for every output element with the flat input indices of its window's cells in the
    /// image.</summary>
    private static void Loop<TOp>(in Pool2dShape s, int inputLength, int outputLength, TOp op, ReadOnlySpan<float> a,
        Span<float> b, ReadOnlySpan<float> bIn, Span<float> d) where TOp : struct, IWindowOp
    {
        KernelThrow.CheckLength("input", s.InputLength, inputLength);
        KernelThrow.CheckLength("output", s.OutputLength, outputLength);
        int oh = s.Geometry.OutHeight, ow = s.Geometry.OutWidth, c = s.Channels;
        Span<int> cells = s.Size * s.Size <= 256 ? stackalloc int[s.Size * s.Size] : new int[s.Size * s.Size];
        int o = 0;
        for (int n = 0; n < s.Batch; n++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++, o += c)
                {
                    var (y0, y1, x0, x1) = s.Window(oy, ox);
                    int count = 0;
                    for (int iy = y0; iy < y1; iy++)
                        for (int ix = x0; ix < x1; ix++) cells[count++] = ((n * s.Height + iy) * s.Width + ix) * c;
                    var window = cells[..count];
                    for (int ch = 0; ch < c; ch++)
                    {
                        op.Run(a, b, bIn, d, o + ch, window);
                        for (int j = 0; j < count; j++) window[j]++;
                    }
                }
    }
}
