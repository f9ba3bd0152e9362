namespace Nn.Runtime.Kernels;

/// <summary>How a convolution or pooling window pads its image.</summary>
internal enum PaddingKind
{
    /// <summary>No padding: ⌊(h − k) / s⌋ + 1 outputs (none when the window does not fit).</summary>
    Valid,
    /// <summary>TensorFlow/Keras <c>same</c>: ⌈h / s⌉ outputs and a total padding of max((out − 1)·s + k − h, 0),
    /// the odd one at the bottom/right.</summary>
    Same,
    /// <summary>Given paddings on each side (zero-filled for a convolution, ignored by pooling).</summary>
    Explicit,
}

/// <summary>A padding request: <see cref="Valid"/>, <see cref="Same"/> or explicit amounts per side.</summary>
internal readonly record struct Padding(PaddingKind Kind, int Top, int Left, int Bottom, int Right)
{
    /// <summary>No padding.</summary>
    public static Padding Valid => new(PaddingKind.Valid, 0, 0, 0, 0);
    /// <summary>TensorFlow/Keras <c>same</c> padding.</summary>
    public static Padding Same => new(PaddingKind.Same, 0, 0, 0, 0);
    /// <summary>The same amount on all four sides (PyTorch's <c>padding=p</c>).</summary>
    public static Padding Explicit(int all) => new(PaddingKind.Explicit, all, all, all, all);
    /// <summary>Amounts per side, in the order of a node's attributes: top, left, bottom, right.</summary>
    public static Padding Explicit(int top, int left, int bottom, int right) =>
        new(PaddingKind.Explicit, top, left, bottom, right);
}

/// <summary>
/// Where a window (a convolution kernel or a pooling window) sits on an image: the output height and width and the
/// four paddings. This is the one definition of convolution and pooling geometry: the built-ins choose the paddings
/// with it, the shape rule sizes outputs with it, and the reference interpreter and the engine's kernels loop over it.
/// An output size of 0 means the window does not fit the padded image (callers report it their own way).
/// </summary>
internal readonly record struct WindowGeometry(
    int OutHeight, int OutWidth, int PadTop, int PadLeft, int PadBottom, int PadRight)
{
    /// <summary>The geometry of a kh×kw window at strides (sh, sw) over an h×w image.</summary>
    public static WindowGeometry Of(int height, int width, int windowHeight, int windowWidth, int strideH, int strideW,
        Padding padding)
    {
        if (height < 0 || width < 0) KernelThrow.Argument(nameof(height), "image sizes must not be negative");
        if (windowHeight < 1 || windowWidth < 1)
            KernelThrow.Argument(nameof(windowHeight), "window sizes must be positive");
        if (strideH < 1 || strideW < 1) KernelThrow.Argument(nameof(strideH), "strides must be positive");
        if (padding.Top < 0 || padding.Left < 0 || padding.Bottom < 0 || padding.Right < 0)
            KernelThrow.Argument(nameof(padding), "paddings must not be negative");
        var (oh, pt, pb) = Axis(height, windowHeight, strideH, padding.Kind, padding.Top, padding.Bottom);
        var (ow, pl, pr) = Axis(width, windowWidth, strideW, padding.Kind, padding.Left, padding.Right);
        return new(oh, ow, pt, pl, pb, pr);
    }

    /// <summary>The geometry a node's attributes describe: strides (sh, sw) then paddings (top, left, bottom,
    /// right).</summary>
    public static WindowGeometry Of(int height, int width, int windowHeight, int windowWidth,
        ReadOnlySpan<int> stridesThenPads) =>
        Of(height, width, windowHeight, windowWidth, stridesThenPads[0], stridesThenPads[1],
            Padding.Explicit(stridesThenPads[2], stridesThenPads[3], stridesThenPads[4], stridesThenPads[5]));

    /// <summary>One axis: the output size and the padding before and after.</summary>
    private static (int Out, int Before, int After) Axis(int size, int window, int stride, PaddingKind kind,
        int before, int after)
    {
        switch (kind)
        {
            case PaddingKind.Same:
                {
                    int o = (size + stride - 1) / stride;
                    int total = Math.Max((o - 1) * stride + window - size, 0);
                    return (o, total / 2, total - total / 2);
                }
            case PaddingKind.Valid:
                before = after = 0;
                break;
        }
        long padded = (long)size + before + after;
        // A window that does not fit gives 0 (C# division truncates toward zero: no negative remainder may reach it).
        int outSize = padded < window ? 0 : (int)((padded - window) / stride + 1);
        return (outSize, before, after);
    }

    /// <summary>True when there is at least one output position.</summary>
    public bool Fits => OutHeight > 0 && OutWidth > 0;

    /// <summary>The paddings in attribute order: top, left, bottom, right.</summary>
    public int[] Pads => [PadTop, PadLeft, PadBottom, PadRight];
}
