using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>
/// Direct forward convolution at stride 1 when the output channels come in whole vectors of 16 (LeNet's second
/// convolution, 14×14×6 → 16, 5×5): in NHWC one output pixel's 16 channels are one Vector512, so 8 neighbouring
/// pixels of an output row are 8 accumulators, and each tap (kx, ci) of a kernel row is one load of the kernel's
/// 16 weights times 8 broadcast input values. Each image is copied once into a zero-padded plane, whose rows hold
/// the kernel row's taps of consecutive pixels contiguously, so no unfolded copy of the input is written (im2col
/// wrote and re-read 7.5 MB per LeNet call, about half its time). Each output sums its taps in the unfolded order
/// (ky, kx, ci) from zero and then adds the bias, as the GEMM's epilogue does.
/// </summary>
internal static partial class Conv2d
{
    /// <summary>Whether <paramref name="s"/>'s forward pass runs here: stride 1, several input channels, output
    /// channels a multiple of 16, at most 1,024 taps, AVX-512.</summary>
    public static bool IsDirectWide(in Conv2dShape s) =>
        UseWide && s.InChannels > 1 && s.StrideH == 1 && s.StrideW == 1 && s.OutChannels % 16 == 0
        && s.PatchLength <= 1024 && !s.IsPointwise && Vector512.IsHardwareAccelerated;

    /// <summary>The direct kernels for 16 output channels (this file, Conv2dWideInput.cs, Conv2dWideKernel.cs) on
    /// where they apply, for calls made on this thread (the default; false forces im2col for them alone, for A/B
    /// benchmarks; <see cref="UseDirect"/> false turns them off too).</summary>
    public static bool UseWide { get => UseDirect && !t_wideOff; set => t_wideOff = !value; }

    [ThreadStatic] private static bool t_wideOff;

    [ThreadStatic] private static float[]? t_widePlane;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ForwardWide(in Conv2dShape s, ReadOnlySpan<float> input, ReadOnlySpan<float> kernel,
        Span<float> output, ReadOnlySpan<float> bias, Activation act)
    {
        int cin = s.InChannels, cout = s.OutChannels, ow = s.OutWidth;
        int rows = s.OutHeight + s.KernelHeight - 1, cols = ((ow + 7) & ~7) + s.KernelWidth - 1;
        nint stride = (nint)cols * cin;
        var planeArr = Scratch(ref t_widePlane, (int)(rows * stride));
        float* tile = stackalloc float[8 * 16];
        fixed (float* pin = input, pk = kernel, pout = output, pb = bias, plane = planeArr)
            for (int n = 0; n < s.Batch; n++)
            {
                new Span<float>(plane, (int)(rows * stride)).Clear();
                float* img = pin + (nint)n * s.Height * s.Width * cin;
                int count = Math.Min(s.Width, cols - s.PadLeft) * cin;
                for (int py = 0; py < rows; py++)
                {
                    int iy = py - s.PadTop;
                    if ((uint)iy < (uint)s.Height && count > 0)
                        new ReadOnlySpan<float>(img + (nint)iy * s.Width * cin, count)
                            .CopyTo(new Span<float>(plane + py * stride + s.PadLeft * cin, count));
                }
                for (int oy = 0; oy < s.OutHeight; oy++)
                {
                    float* orow = pout + ((nint)n * s.OutHeight + oy) * ow * cout;
                    for (int ox0 = 0; ox0 < ow; ox0 += 8)
                    {
                        int xs = Math.Min(8, ow - ox0);
                        for (int g = 0; g < cout; g += 16)
                        {
                            Pixels8(plane + oy * stride + (nint)ox0 * cin, stride, cin, pk + g, cout,
                                s.KernelHeight, s.KernelWidth * cin, pb == null ? null : pb + g, tile);
                            for (int x = 0; x < xs; x++)
                                Vector512.Load(tile + x * 16).Store(orow + (nint)(ox0 + x) * cout + g);
                        }
                    }
                    if (act != Activation.Identity)
                        Epilogue.Apply(new Span<float>(orow, ow * cout), null, act);
                }
            }
    }

    /// <summary>8 neighbouring output pixels × 16 channels into <paramref name="tile"/> ([pixel][channel]): the taps
    /// of each kernel row in order from zero, then the bias (a method of its own, without calls, so the
    /// accumulators stay in registers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static unsafe void Pixels8(float* at, nint stride, int cin, float* k, int cout, int kh, int run,
        float* bias, float* tile)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default,
            a4 = default, a5 = default, a6 = default, a7 = default;
        for (int ky = 0; ky < kh; ky++, at += stride)
            for (int t = 0; t < run; t++, k += cout)
            {
                var w = Vector512.Load(k);
                float* p = at + t;
                a0 = Vector512.FusedMultiplyAdd(Vector512.Create(p[0]), w, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Create(p[cin]), w, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Create(p[2 * cin]), w, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Create(p[3 * cin]), w, a3);
                a4 = Vector512.FusedMultiplyAdd(Vector512.Create(p[4 * cin]), w, a4);
                a5 = Vector512.FusedMultiplyAdd(Vector512.Create(p[5 * cin]), w, a5);
                a6 = Vector512.FusedMultiplyAdd(Vector512.Create(p[6 * cin]), w, a6);
                a7 = Vector512.FusedMultiplyAdd(Vector512.Create(p[7 * cin]), w, a7);
            }
        if (bias != null)
        {
            var b = Vector512.Load(bias);
            a0 += b; a1 += b; a2 += b; a3 += b; a4 += b; a5 += b; a6 += b; a7 += b;
        }
        Vector512.Store(a0, tile); Vector512.Store(a1, tile + 16);
        Vector512.Store(a2, tile + 32); Vector512.Store(a3, tile + 48);
        Vector512.Store(a4, tile + 64); Vector512.Store(a5, tile + 80);
        Vector512.Store(a6, tile + 96); Vector512.Store(a7, tile + 112);
    }
}
