namespace Nn.Runtime.Kernels;

/// <summary>How a convolution pads its input.</summary>
public enum Padding
{
    /// <summary>No padding: the output is ⌊(h − kh) / stride⌋ + 1 high.</summary>
    Valid,
    /// <summary>Zero padding so the output is ⌈h / stride⌉ high; the extra row/column goes at the bottom/right (as in TensorFlow).</summary>
    Same,
}

/// <summary>
/// The geometry of a 2-D convolution in NHWC layout: input [n, h, w, cin], kernel [kh, kw, cin, cout],
/// output [n, oh, ow, cout]. Built once by <see cref="Create"/> and handed to every <see cref="Conv2d"/> call.
/// </summary>
public readonly record struct Conv2dShape(
    int Batch, int Height, int Width, int InChannels,
    int KernelHeight, int KernelWidth, int OutChannels,
    int StrideH, int StrideW, int PadTop, int PadLeft, int OutHeight, int OutWidth)
{
    /// <summary>The geometry of a convolution with the same stride along both axes.</summary>
    public static Conv2dShape Create(int batch, int height, int width, int inChannels,
        int kernelHeight, int kernelWidth, int outChannels, int stride, Padding padding)
    {
        if (batch < 0) KernelThrow.Negative(nameof(batch), batch);
        if (height < 0 || width < 0) KernelThrow.Argument(nameof(height), "image sizes must not be negative");
        if (inChannels < 1 || outChannels < 1) KernelThrow.Argument(nameof(inChannels), "channel counts must be positive");
        if (kernelHeight < 1 || kernelWidth < 1) KernelThrow.Argument(nameof(kernelHeight), "kernel sizes must be positive");
        if (stride < 1) KernelThrow.Argument(nameof(stride), "the stride must be positive");
        var (oh, pt) = Axis(height, kernelHeight, stride, padding);
        var (ow, pl) = Axis(width, kernelWidth, stride, padding);
        if (oh < 1 || ow < 1) KernelThrow.Argument(nameof(padding), $"a {kernelHeight}×{kernelWidth} kernel does not fit a {height}×{width} image without padding");
        return new(batch, height, width, inChannels, kernelHeight, kernelWidth, outChannels, stride, stride, pt, pl, oh, ow);
    }

    private static (int Out, int PadBefore) Axis(int size, int kernel, int stride, Padding padding)
    {
        if (padding == Padding.Valid) return (size < kernel ? 0 : (size - kernel) / stride + 1, 0);
        int o = (size + stride - 1) / stride;
        int total = Math.Max((o - 1) * stride + kernel - size, 0);
        return (o, total / 2);
    }

    /// <summary>Floats in the input, n·h·w·cin.</summary>
    public int InputLength => Batch * Height * Width * InChannels;
    /// <summary>Floats in the kernel, kh·kw·cin·cout.</summary>
    public int KernelLength => KernelHeight * KernelWidth * InChannels * OutChannels;
    /// <summary>Floats in the output, n·oh·ow·cout.</summary>
    public int OutputLength => Batch * OutHeight * OutWidth * OutChannels;
    /// <summary>Rows of the unfolded input: one per output pixel, n·oh·ow.</summary>
    public int PatchCount => Batch * OutHeight * OutWidth;
    /// <summary>Columns of the unfolded input: one per kernel tap, kh·kw·cin.</summary>
    public int PatchLength => KernelHeight * KernelWidth * InChannels;
    /// <summary>Floats of workspace every <see cref="Conv2d"/> call needs (0 for a 1×1, stride-1 convolution, which needs no unfolding).</summary>
    public int WorkspaceLength => IsPointwise ? 0 : PatchCount * PatchLength;
    /// <summary>True for a 1×1 kernel at stride 1 without padding: the input is already its own unfolding.</summary>
    public bool IsPointwise => KernelHeight == 1 && KernelWidth == 1 && StrideH == 1 && StrideW == 1 && PadTop == 0 && PadLeft == 0;
}
