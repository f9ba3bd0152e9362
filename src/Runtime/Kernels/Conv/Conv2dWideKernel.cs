using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>
/// Direct kernel gradient at stride 1 when the output channels come in whole vectors of 16 (LeNet's second
/// convolution): dK[ky, kx, ci, :] = Σ over images and output pixels of X[oy + ky − padTop, ox + kx − padLeft, ci]
/// times dY[oy, ox, :]. The call's images are copied into zero-padded planes, whose rows hold a kernel row's
/// kw·cin taps of each output pixel contiguously; 16 taps at a time keep 16 accumulators of 16 output channels
/// over all pixels, each pixel one load of dY and 16 broadcasts. Each weight sums its pixels in order (images,
/// rows, columns) from zero; im2col instead unfolded the images (7.5 MB per LeNet call) for one GEMM.
/// </summary>
internal static partial class Conv2d
{
    /// <summary>Whether <paramref name="s"/>'s kernel gradient runs here: stride 1, several input channels, output
    /// channels a multiple of 16, at most 1,024 taps, AVX-512.</summary>
    public static bool IsDirectWideKernel(in Conv2dShape s) =>
        UseWide && s.InChannels > 1 && s.StrideH == 1 && s.StrideW == 1 && s.OutChannels % 16 == 0
        && s.PatchLength <= 1024 && !s.IsPointwise && Vector512.IsHardwareAccelerated;

    [ThreadStatic] private static float[]? t_kernelPlanes, t_kernelSums;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void BackwardKernelWide(in Conv2dShape s, ReadOnlySpan<float> input,
        ReadOnlySpan<float> dOutput, Span<float> dKernel, float beta)
    {
        int cin = s.InChannels, cout = s.OutChannels, run = s.KernelWidth * cin;
        int rows = s.OutHeight + s.KernelHeight - 1, cols = s.OutWidth + s.KernelWidth - 1;
        nint stride = (nint)cols * cin + 16, planeLength = rows * stride; // 16 floats of slack for a last block
        var planesArr = Scratch(ref t_kernelPlanes, (int)(s.Batch * planeLength));
        var sumsArr = Scratch(ref t_kernelSums, s.KernelLength);
        float* tile = stackalloc float[16 * 16];
        fixed (float* pin = input, pdy = dOutput, planes = planesArr, sums = sumsArr)
        {
            new Span<float>(planes, (int)(s.Batch * planeLength)).Clear();
            int count = Math.Min(s.Width, cols - s.PadLeft) * cin;
            for (int n = 0; n < s.Batch; n++)
                for (int py = 0; py < rows; py++)
                {
                    int iy = py - s.PadTop;
                    if ((uint)iy < (uint)s.Height && count > 0)
                        new ReadOnlySpan<float>(pin + ((nint)n * s.Height + iy) * s.Width * cin, count)
                            .CopyTo(new Span<float>(planes + n * planeLength + py * stride + s.PadLeft * cin, count));
                }
            for (int ky = 0; ky < s.KernelHeight; ky++)
                for (int t0 = 0; t0 < run; t0 += 16)
                    for (int g = 0; g < cout; g += 16)
                    {
                        KernelTaps16(planes + ky * stride + t0, planeLength, stride, cin, pdy + g, cout, s.Batch,
                            s.OutHeight, s.OutWidth, tile);
                        for (int j = 0; j < 16 && t0 + j < run; j++)
                            Vector512.Load(tile + j * 16).Store(sums + ((nint)ky * run + t0 + j) * cout + g);
                    }
            for (int i = 0; i < s.KernelLength; i++)
            {
                ref float dk = ref dKernel[i];
                dk = beta == 0f ? sums[i] : beta * dk + sums[i];
            }
        }
    }

    /// <summary>tile[j] (16 output channels): Σ over images and output pixels of the plane value at tap j from
    /// <paramref name="x"/> times dY (a method of its own, without calls, so the 16 accumulators stay in
    /// registers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static unsafe void KernelTaps16(float* x, nint planeLength, nint stride, int cin, float* dy, int cout,
        int batch, int oh, int ow, float* tile)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default,
            a4 = default, a5 = default, a6 = default, a7 = default,
            a8 = default, a9 = default, a10 = default, a11 = default,
            a12 = default, a13 = default, a14 = default, a15 = default;
        for (int n = 0; n < batch; n++, x += planeLength)
            for (int oy = 0; oy < oh; oy++)
            {
                float* p = x + oy * stride;
                for (int ox = 0; ox < ow; ox++, p += cin, dy += cout)
                {
                    var d = Vector512.Load(dy);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(p[0]), d, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(p[1]), d, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(p[2]), d, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Create(p[3]), d, a3);
                    a4 = Vector512.FusedMultiplyAdd(Vector512.Create(p[4]), d, a4);
                    a5 = Vector512.FusedMultiplyAdd(Vector512.Create(p[5]), d, a5);
                    a6 = Vector512.FusedMultiplyAdd(Vector512.Create(p[6]), d, a6);
                    a7 = Vector512.FusedMultiplyAdd(Vector512.Create(p[7]), d, a7);
                    a8 = Vector512.FusedMultiplyAdd(Vector512.Create(p[8]), d, a8);
                    a9 = Vector512.FusedMultiplyAdd(Vector512.Create(p[9]), d, a9);
                    a10 = Vector512.FusedMultiplyAdd(Vector512.Create(p[10]), d, a10);
                    a11 = Vector512.FusedMultiplyAdd(Vector512.Create(p[11]), d, a11);
                    a12 = Vector512.FusedMultiplyAdd(Vector512.Create(p[12]), d, a12);
                    a13 = Vector512.FusedMultiplyAdd(Vector512.Create(p[13]), d, a13);
                    a14 = Vector512.FusedMultiplyAdd(Vector512.Create(p[14]), d, a14);
                    a15 = Vector512.FusedMultiplyAdd(Vector512.Create(p[15]), d, a15);
                }
            }
        a0.Store(tile); a1.Store(tile + 16); a2.Store(tile + 32); a3.Store(tile + 48);
        a4.Store(tile + 64); a5.Store(tile + 80); a6.Store(tile + 96); a7.Store(tile + 112);
        a8.Store(tile + 128); a9.Store(tile + 144); a10.Store(tile + 160); a11.Store(tile + 176);
        a12.Store(tile + 192); a13.Store(tile + 208); a14.Store(tile + 224); a15.Store(tile + 240);
    }
}
