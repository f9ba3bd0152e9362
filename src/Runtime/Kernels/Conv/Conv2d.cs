namespace Nn.Runtime.Kernels;

/// <summary>
/// 2-D convolution in NHWC layout by unfolding (im2col) and one GEMM per call:
/// the unfolded input U is [n·oh·ow, kh·kw·cin], the kernel W is [kh·kw·cin, cout], so
/// forward is Y = U·W, the kernel gradient dW = Uᵀ·dY and the input gradient folds dU = dY·Wᵀ back
/// (col2im, summing overlapping taps). Unfolding won over a direct loop nest because all the arithmetic
/// lands in the packed FMA kernel; see bench/ for the LeNet-size measurements. The exception is one input channel
/// at stride 1, where the product is too thin for the GEMM (<see cref="IsDirect"/>, Conv2dDirect.cs).
/// </summary>
internal static partial class Conv2d
{
    /// <summary>output = conv(input, kernel); <paramref name="workspace"/> holds at least
    /// <see cref="Conv2dShape.WorkspaceLength"/> floats.</summary>
    public static void Forward(in Conv2dShape s, ReadOnlySpan<float> input, ReadOnlySpan<float> kernel,
        Span<float> output, Span<float> workspace, int threads = 1) =>
        Forward(s, input, kernel, output, workspace, ReadOnlySpan<float>.Empty, Activation.Identity, threads);

    /// <summary>output = act(conv(input, kernel) + bias) with a per-output-channel bias (or empty), fused
    /// into the GEMM epilogue.</summary>
    public static void Forward(in Conv2dShape s, ReadOnlySpan<float> input, ReadOnlySpan<float> kernel,
        Span<float> output, Span<float> workspace, ReadOnlySpan<float> bias, Activation activation, int threads = 1)
    {
        Check(s, input.Length, kernel.Length, output.Length, workspace.Length);
        if (SplitsBatch(s, threads))
        {
            ConvJob.Run(ConvJob.Kind.Forward, s, input, kernel, output, workspace, bias, activation, 0f, threads);
            return;
        }
        if (IsDirect(s)) { ForwardDirect(s, input, kernel, output, bias, activation); return; }
        if (IsDirectWide(s)) { ForwardWide(s, input, kernel, output, bias, activation); return; }
        ReadOnlySpan<float> u = s.IsPointwise ? input : Unfold(s, input, workspace);
        Gemm.Multiply(false, false, s.PatchCount, s.OutChannels, s.PatchLength, 1f, u, s.PatchLength,
            kernel, s.OutChannels, 0f, output, s.OutChannels, bias, activation, threads);
    }

    /// <summary>dKernel = (beta·dKernel +) Uᵀ·dOutput: the gradient with respect to the kernel, summed in an order that
    /// does not depend on <paramref name="threads"/>.</summary>
    public static void BackwardKernel(in Conv2dShape s, ReadOnlySpan<float> input, ReadOnlySpan<float> dOutput,
        Span<float> dKernel, Span<float> workspace, float beta = 0f, int threads = 1)
    {
        Check(s, input.Length, dKernel.Length, dOutput.Length, workspace.Length);
        if (ChunksBatch(s))
        {
            ConvJob.Run(ConvJob.Kind.Kernel, s, input, dOutput, dKernel, workspace, default, Activation.Identity, beta,
                threads);
            return;
        }
        BackwardKernelWhole(s, input, dOutput, dKernel, workspace, beta, threads);
    }

    /// <summary>The kernel gradient over all of the call's images at once (a chunk's, when the batch is
    /// chunked).</summary>
    private static void BackwardKernelWhole(in Conv2dShape s, ReadOnlySpan<float> input, ReadOnlySpan<float> dOutput,
        Span<float> dKernel, Span<float> workspace, float beta, int threads)
    {
        if (IsDirect(s)) { BackwardKernelDirect(s, input, dOutput, dKernel, beta); return; }
        if (IsDirectWideKernel(s)) { BackwardKernelWide(s, input, dOutput, dKernel, beta); return; }
        ReadOnlySpan<float> u = s.IsPointwise ? input : Unfold(s, input, workspace);
        Gemm.Multiply(true, false, s.PatchLength, s.OutChannels, s.PatchCount, 1f, u, s.PatchLength,
            dOutput, s.OutChannels, beta, dKernel, s.OutChannels, threads);
    }

    /// <summary>dInput = the gradient with respect to the input (overwritten): fold(dOutput·Wᵀ).</summary>
    public static void BackwardInput(in Conv2dShape s, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> kernel,
        Span<float> dInput, Span<float> workspace, int threads = 1)
    {
        Check(s, dInput.Length, kernel.Length, dOutput.Length, workspace.Length);
        if (SplitsBatch(s, threads))
        {
            ConvJob.Run(ConvJob.Kind.Input, s, dOutput, kernel, dInput, workspace, default, Activation.Identity, 0f,
                threads);
            return;
        }
        if (IsDirectWideInput(s)) { BackwardInputWide(s, dOutput, kernel, dInput); return; }
        if (s.IsPointwise)
        {
            Gemm.Multiply(false, true, s.PatchCount, s.PatchLength, s.OutChannels, 1f, dOutput, s.OutChannels,
                kernel, s.OutChannels, 0f, dInput, s.PatchLength, threads);
            return;
        }
        var du = workspace[..s.WorkspaceLength];
        Gemm.Multiply(false, true, s.PatchCount, s.PatchLength, s.OutChannels, 1f, dOutput, s.OutChannels,
            kernel, s.OutChannels, 0f, du, s.PatchLength, threads);
        Fold(s, du, dInput);
    }

    /// <summary>Writes the unfolded input U (one row of kh·kw·cin taps per output pixel, zeros for
    /// padding) into the workspace.</summary>
    public static Span<float> Unfold(in Conv2dShape s, ReadOnlySpan<float> input, Span<float> workspace)
    {
        var u = workspace[..s.WorkspaceLength];
        int c = s.InChannels, rowLen = s.PatchLength, run = s.KernelWidth * c;
        int row = 0;
        for (int n = 0; n < s.Batch; n++)
            for (int oy = 0; oy < s.OutHeight; oy++)
                for (int ox = 0; ox < s.OutWidth; ox++, row++)
                {
                    var dst = u.Slice(row * rowLen, rowLen);
                    int x0 = ox * s.StrideW - s.PadLeft;
                    for (int ky = 0; ky < s.KernelHeight; ky++)
                    {
                        var seg = dst.Slice(ky * run, run);
                        int iy = oy * s.StrideH - s.PadTop + ky;
                        if ((uint)iy >= (uint)s.Height) { seg.Clear(); continue; }
                        int pix = (n * s.Height + iy) * s.Width;
                        if (x0 >= 0 && x0 + s.KernelWidth <= s.Width)
                        {
                            // The whole run of kw·cin taps is contiguous in NHWC.
                            Copy(input.Slice((pix + x0) * c, run), seg);
                            continue;
                        }
                        for (int kx = 0; kx < s.KernelWidth; kx++)
                        {
                            int ix = x0 + kx;
                            var tap = seg.Slice(kx * c, c);
                            if ((uint)ix >= (uint)s.Width) tap.Clear();
                            else Copy(input.Slice((pix + ix) * c, c), tap);
                        }
                    }
                }
        return u;
    }

    /// <summary>The adjoint of <see cref="Unfold"/>: dInput = 0, then each tap's value is added
    /// back to its input pixel.</summary>
    public static void Fold(in Conv2dShape s, ReadOnlySpan<float> du, Span<float> dInput)
    {
        var dx = dInput[..s.InputLength];
        dx.Clear();
        int c = s.InChannels, rowLen = s.PatchLength, run = s.KernelWidth * c;
        int row = 0;
        for (int n = 0; n < s.Batch; n++)
            for (int oy = 0; oy < s.OutHeight; oy++)
                for (int ox = 0; ox < s.OutWidth; ox++, row++)
                {
                    var src = du.Slice(row * rowLen, rowLen);
                    int x0 = ox * s.StrideW - s.PadLeft;
                    for (int ky = 0; ky < s.KernelHeight; ky++)
                    {
                        int iy = oy * s.StrideH - s.PadTop + ky;
                        if ((uint)iy >= (uint)s.Height) continue;
                        var seg = src.Slice(ky * run, run);
                        int pix = (n * s.Height + iy) * s.Width;
                        if (x0 >= 0 && x0 + s.KernelWidth <= s.Width)
                        {
                            var d = dx.Slice((pix + x0) * c, run);
                            Elementwise.Binary<AddOp>(d, seg, d);
                            continue;
                        }
                        for (int kx = 0; kx < s.KernelWidth; kx++)
                        {
                            int ix = x0 + kx;
                            if ((uint)ix >= (uint)s.Width) continue;
                            var d = dx.Slice((pix + ix) * c, c);
                            Elementwise.Binary<AddOp>(d, seg.Slice(kx * c, c), d);
                        }
                    }
                }
    }

    /// <summary>Copies a run of taps; short runs (one-channel images) by a loop, which beats a memmove call.</summary>
    private static void Copy(ReadOnlySpan<float> src, Span<float> dst)
    {
        if (src.Length >= 16) { src.CopyTo(dst); return; }
        for (int i = 0; i < src.Length; i++) dst[i] = src[i];
    }

    private static void Check(in Conv2dShape s, int inputLength, int kernelLength, int outputLength,
        int workspaceLength)
    {
        KernelThrow.CheckLength("input", s.InputLength, inputLength);
        KernelThrow.CheckLength("kernel", s.KernelLength, kernelLength);
        KernelThrow.CheckLength("output", s.OutputLength, outputLength);
        KernelThrow.CheckLength("workspace", s.WorkspaceLength, workspaceLength);
    }
}
