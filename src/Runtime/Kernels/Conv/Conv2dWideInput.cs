using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>
/// Direct input gradient at stride 1 when the output channels come in whole vectors of 16 (LeNet's second
/// convolution): dX[iy, ix, ci] = Σ over taps (ky, kx) of the dot product of dY[iy + padTop − ky, ix + padLeft − kx, :]
/// with K[ky, kx, ci, :]. Each image's output gradient is copied once into a zero-bordered plane, so every tap of 8
/// neighbouring input pixels is 8 vector loads of 16 channels; two input channels at a time keep 16 accumulators,
/// each summed across its lanes at the end. im2col instead wrote dY·Kᵀ (7.5 MB per LeNet call) and folded it back.
/// </summary>
internal static partial class Conv2d
{
    /// <summary>Whether <paramref name="s"/>'s input gradient runs here: stride 1, output channels a multiple of 16,
    /// no padding beyond the kernel's reach, AVX-512, and at most 1.5 input pixels per output pixel (this runs every
    /// tap of every input pixel, zeros included; im2col's work follows the output pixels: on LeNet's conv2 without
    /// padding, 196 inputs for 100 outputs, im2col measured 0.45 ms against 0.72 here).</summary>
    public static bool IsDirectWideInput(in Conv2dShape s) =>
        UseWide && s.StrideH == 1 && s.StrideW == 1 && s.OutChannels % 16 == 0 && !s.IsPointwise
        && s.PadTop < s.KernelHeight && s.PadLeft < s.KernelWidth && s.PatchLength <= 1024
        && 2L * s.Height * s.Width <= 3L * s.OutHeight * s.OutWidth && Vector512.IsHardwareAccelerated;

    [ThreadStatic] private static float[]? t_gradPlane, t_flipped;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void BackwardInputWide(in Conv2dShape s, ReadOnlySpan<float> dOutput,
        ReadOnlySpan<float> kernel, Span<float> dInput)
    {
        int cin = s.InChannels, cout = s.OutChannels, kh = s.KernelHeight, kw = s.KernelWidth, pairs = (cin + 1) / 2;
        int rows = s.Height + kh - 1, cols = ((s.Width + 7) & ~7) + kw - 1, top = kh - 1 - s.PadTop,
            left = kw - 1 - s.PadLeft;
        nint stride = (nint)cols * cout;
        // the kernel flipped and by input channel: flipped[ci][ry][rx][co] = K[kh−1−ry][kw−1−rx][ci][co], zero for
        // the channel that pads an odd count
        int perChannel = kh * kw * cout;
        var flippedArr = Scratch(ref t_flipped, pairs * 2 * perChannel);
        var planeArr = Scratch(ref t_gradPlane, (int)(rows * stride));
        float* sums = stackalloc float[16];
        fixed (float* pdy = dOutput, pk = kernel, pdx = dInput, plane = planeArr, flipped = flippedArr)
        {
            new Span<float>(flipped, pairs * 2 * perChannel).Clear();
            for (int ci = 0; ci < cin; ci++)
                for (int ry = 0; ry < kh; ry++)
                    for (int rx = 0; rx < kw; rx++)
                        new ReadOnlySpan<float>(pk + (((nint)(kh - 1 - ry) * kw + kw - 1 - rx) * cin + ci) * cout, cout)
                            .CopyTo(new Span<float>(flipped + (nint)ci * perChannel + (ry * kw + rx) * cout, cout));
            for (int n = 0; n < s.Batch; n++)
            {
                new Span<float>(plane, (int)(rows * stride)).Clear();
                float* dy = pdy + (nint)n * s.OutHeight * s.OutWidth * cout;
                int count = Math.Min(s.OutWidth, cols - left) * cout;
                for (int oy = 0; oy < s.OutHeight; oy++)
                    if ((uint)(oy + top) < (uint)rows && count > 0)
                        new ReadOnlySpan<float>(dy + (nint)oy * s.OutWidth * cout, count)
                            .CopyTo(new Span<float>(plane + (oy + top) * stride + (nint)left * cout, count));
                float* dx = pdx + (nint)n * s.Height * s.Width * cin;
                for (int iy = 0; iy < s.Height; iy++)
                    for (int ix0 = 0; ix0 < s.Width; ix0 += 8)
                    {
                        int xs = Math.Min(8, s.Width - ix0);
                        for (int pair = 0; pair < pairs; pair++)
                        {
                            float* k0 = flipped + (nint)(2 * pair) * perChannel;
                            InputPixels8(plane + iy * stride + (nint)ix0 * cout, stride, cout, k0, k0 + perChannel,
                                kh, kw, sums);
                            float* o = dx + ((nint)iy * s.Width + ix0) * cin + 2 * pair;
                            bool second = 2 * pair + 1 < cin;
                            for (int x = 0; x < xs; x++, o += cin)
                            {
                                o[0] = sums[x];
                                if (second) o[1] = sums[8 + x];
                            }
                        }
                    }
            }
        }
    }

    /// <summary>sums[p] and sums[8 + p]: the input gradient of pixel p of 8 neighbours for two input channels (their
    /// flipped kernels <paramref name="k0"/> and <paramref name="k1"/>), from the plane at <paramref name="at"/> (a
    /// method of its own, without calls, so the 16 accumulators stay in registers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static unsafe void InputPixels8(float* at, nint stride, int cout, float* k0, float* k1, int kh, int kw,
        float* sums)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default,
            a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default,
            b4 = default, b5 = default, b6 = default, b7 = default;
        for (int ry = 0; ry < kh; ry++, at += stride)
            for (int rx = 0; rx < kw; rx++)
                for (int c = 0; c < cout; c += 16, k0 += 16, k1 += 16)
                {
                    var w0 = Vector512.Load(k0); var w1 = Vector512.Load(k1);
                    float* p = at + rx * cout + c;
                    var v = Vector512.Load(p);
                    a0 = Vector512.FusedMultiplyAdd(v, w0, a0); b0 = Vector512.FusedMultiplyAdd(v, w1, b0);
                    v = Vector512.Load(p + cout);
                    a1 = Vector512.FusedMultiplyAdd(v, w0, a1); b1 = Vector512.FusedMultiplyAdd(v, w1, b1);
                    v = Vector512.Load(p + 2 * cout);
                    a2 = Vector512.FusedMultiplyAdd(v, w0, a2); b2 = Vector512.FusedMultiplyAdd(v, w1, b2);
                    v = Vector512.Load(p + 3 * cout);
                    a3 = Vector512.FusedMultiplyAdd(v, w0, a3); b3 = Vector512.FusedMultiplyAdd(v, w1, b3);
                    v = Vector512.Load(p + 4 * cout);
                    a4 = Vector512.FusedMultiplyAdd(v, w0, a4); b4 = Vector512.FusedMultiplyAdd(v, w1, b4);
                    v = Vector512.Load(p + 5 * cout);
                    a5 = Vector512.FusedMultiplyAdd(v, w0, a5); b5 = Vector512.FusedMultiplyAdd(v, w1, b5);
                    v = Vector512.Load(p + 6 * cout);
                    a6 = Vector512.FusedMultiplyAdd(v, w0, a6); b6 = Vector512.FusedMultiplyAdd(v, w1, b6);
                    v = Vector512.Load(p + 7 * cout);
                    a7 = Vector512.FusedMultiplyAdd(v, w0, a7); b7 = Vector512.FusedMultiplyAdd(v, w1, b7);
                }
        sums[0] = Vector512.Sum(a0); sums[1] = Vector512.Sum(a1); sums[2] = Vector512.Sum(a2);
        sums[3] = Vector512.Sum(a3); sums[4] = Vector512.Sum(a4); sums[5] = Vector512.Sum(a5);
        sums[6] = Vector512.Sum(a6); sums[7] = Vector512.Sum(a7);
        sums[8] = Vector512.Sum(b0); sums[9] = Vector512.Sum(b1); sums[10] = Vector512.Sum(b2);
        sums[11] = Vector512.Sum(b3); sums[12] = Vector512.Sum(b4); sums[13] = Vector512.Sum(b5);
        sums[14] = Vector512.Sum(b6); sums[15] = Vector512.Sum(b7);
    }
}
