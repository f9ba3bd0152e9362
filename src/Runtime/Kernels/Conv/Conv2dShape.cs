namespace Nn.Runtime.Kernels;

/// <summary>
/// The geometry of a 2-D convolution in NHWC layout: input [n, h, w, cin], kernel [kh, kw, cin, cout],
/// output [n, oh, ow, cout]. Built once by <c>Create</c> (its output size and paddings from
/// <see cref="WindowGeometry"/>) and handed to every <see cref="Conv2d"/> call.
/// </summary>
internal readonly record struct Conv2dShape(
    int Batch, int Height, int Width, int InChannels,
    int KernelHeight, int KernelWidth, int OutChannels,
    int StrideH, int StrideW, int PadTop, int PadLeft, int OutHeight, int OutWidth)
{
    /// <summary>The geometry of a convolution; its output size and paddings come from
    /// <see cref="WindowGeometry"/>.</summary>
    public static Conv2dShape Create(int batch, int height, int width, int inChannels,
        int kernelHeight, int kernelWidth, int outChannels, int strideH, int strideW, Padding padding)
    {
        if (batch < 0) KernelThrow.Negative(nameof(batch), batch);
        if (inChannels < 1 || outChannels < 1)
            KernelThrow.Argument(nameof(inChannels), "channel counts must be positive");
        var g = WindowGeometry.Of(height, width, kernelHeight, kernelWidth, strideH, strideW, padding);
        if (!g.Fits)
            KernelThrow.Argument(nameof(padding),
                $"a {kernelHeight}×{kernelWidth} kernel does not fit a {height}×{width} image with its padding");
        return new(batch, height, width, inChannels, kernelHeight, kernelWidth, outChannels, strideH, strideW,
            g.PadTop, g.PadLeft, g.OutHeight, g.OutWidth);
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
    /// <summary>Floats of workspace every <see cref="Conv2d"/> call needs (0 for a 1×1, stride-1 convolution, which
    /// needs no unfolding).</summary>
    public int WorkspaceLength => IsPointwise ? 0 : PatchCount * PatchLength;
    /// <summary>True for a 1×1 kernel at stride 1 without padding (on any side): the input is already its own
    /// unfolding.</summary>
    public bool IsPointwise => KernelHeight == 1 && KernelWidth == 1 && StrideH == 1 && StrideW == 1
        && PadTop == 0 && PadLeft == 0
        && OutHeight == Height && OutWidth == Width;
}
