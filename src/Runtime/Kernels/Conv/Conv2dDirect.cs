using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>
/// Direct convolution for one input channel at stride 1 (a grayscale image's first layer: LeNet's 28×28×1 → 6, 5×5),
/// where im2col + GEMM is a poor shape (25 taps deep, 6 columns wide: ~5% of the FMA peak, and the unfold alone
/// costs as much as the product). Each image is copied once into a zero-padded plane; then 16 neighbouring output
/// pixels of a row are one vector: every kernel tap is one load of the plane, shifted, times the tap's weight for
/// each of up to 8 output channels in registers. The kernel gradient runs the same loops with the output gradient
/// transposed per image to [channel][x]. Measured in bench/ (conv cases, "direct" against "im2col").
/// </summary>
internal static partial class Conv2d
{
    /// <summary>Direct kernels on where they apply, for calls made on this thread (the default; false forces im2col,
    /// for A/B benchmarks and tests; the worker threads of a split call keep the default).</summary>
    public static bool UseDirect { get => !t_im2colOnly; set => t_im2colOnly = !value; }

    [ThreadStatic] private static bool t_im2colOnly;

    /// <summary>Whether <paramref name="s"/> runs on the direct kernels: one input channel, stride 1, at most 16 output
    /// channels, at most 64 taps, AVX-512.</summary>
    public static bool IsDirect(in Conv2dShape s) =>
        UseDirect && s.InChannels == 1 && s.StrideH == 1 && s.StrideW == 1 && s.OutChannels <= 16
        && s.KernelHeight * s.KernelWidth <= 64 && Vector512.IsHardwareAccelerated;

    [ThreadStatic] private static float[]? t_plane, t_grad;

    private static float[] Scratch(ref float[]? buffer, int length) =>
        buffer is { } b && b.Length >= length ? b : buffer = new float[Math.Max(length, 1024)];

    /// <summary>Plane geometry: rows of the padded image, and its row stride (the output width rounded up to whole
    /// vectors, plus the kernel's reach).</summary>
    private static (int Rows, int Stride, int Width16) Plane(in Conv2dShape s)
    {
        int w16 = (s.OutWidth + 15) & ~15;
        return (s.OutHeight + s.KernelHeight - 1, w16 + s.KernelWidth - 1, w16);
    }

    /// <summary>Copies image <paramref name="img"/> into the zero-padded plane: plane[py, px] = img[py −
    /// padTop, px − padLeft].</summary>
    private static unsafe void Pad(in Conv2dShape s, float* img, float* plane, int rows, int stride)
    {
        new Span<float>(plane, rows * stride).Clear();
        for (int py = 0; py < rows; py++)
        {
            int iy = py - s.PadTop;
            if ((uint)iy >= (uint)s.Height) continue;
            int count = Math.Min(s.Width, stride - s.PadLeft); // padding is never negative
            if (count > 0)
                new ReadOnlySpan<float>(img + (nint)iy * s.Width, count)
                    .CopyTo(new Span<float>(plane + (nint)py * stride + s.PadLeft, count));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ForwardDirect(in Conv2dShape s, ReadOnlySpan<float> input, ReadOnlySpan<float> kernel,
        Span<float> output, ReadOnlySpan<float> bias, Activation act)
    {
        int taps = s.KernelHeight * s.KernelWidth, cout = s.OutChannels, groups = (cout + 7) / 8, kw = s.KernelWidth;
        var (rows, stride, _) = Plane(s);
        float* kp = stackalloc float[taps * groups * 8]; // [group][tap][8 channels], zero past cout
        float* bp = stackalloc float[groups * 8];
        for (int g = 0; g < groups; g++)
            for (int j = 0; j < 8; j++)
            {
                int co = g * 8 + j;
                for (int t = 0; t < taps; t++) kp[(g * taps + t) * 8 + j] = co < cout ? kernel[t * cout + co] : 0f;
                bp[g * 8 + j] = co < cout && !bias.IsEmpty ? bias[co] : 0f;
            }
        float* tile = stackalloc float[8 * 16];
        var planeArr = Scratch(ref t_plane, rows * stride);
        fixed (float* pin = input, pout = output, plane = planeArr)
            for (int n = 0; n < s.Batch; n++)
            {
                Pad(s, pin + (nint)n * s.Height * s.Width, plane, rows, stride);
                for (int oy = 0; oy < s.OutHeight; oy++)
                    for (int ox0 = 0; ox0 < s.OutWidth; ox0 += 16)
                        for (int g = 0; g < groups; g++)
                        {
                            Chunk(plane + (nint)oy * stride + ox0, stride, kp + (nint)g * taps * 8, s.KernelHeight, kw,
                                bp + g * 8, tile);
                            Epilogue.Apply(new Span<float>(tile, 8 * 16), null, act);
                            int xs = Math.Min(16, s.OutWidth - ox0), cs = Math.Min(8, cout - g * 8);
                            float* o = pout + ((nint)(n * s.OutHeight + oy) * s.OutWidth + ox0) * cout + g * 8;
                            for (int x = 0; x < xs; x++, o += cout)
                                for (int j = 0; j < cs; j++) o[j] = tile[j * 16 + x];
                        }
            }
    }

    /// <summary>16 output pixels × 8 channels: bias plus the taps over the plane from <paramref name="at"/>, stored
    /// channel by channel into <paramref name="tile"/>, where the caller applies the activation with the GEMM's
    /// epilogue (a method of its own, without calls, so the accumulators stay in registers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static unsafe void Chunk(float* at, int stride, float* k, int kh, int kw, float* bias, float* tile)
    {
        var a0 = Vector512.Create(bias[0]); var a1 = Vector512.Create(bias[1]);
        var a2 = Vector512.Create(bias[2]); var a3 = Vector512.Create(bias[3]);
        var a4 = Vector512.Create(bias[4]); var a5 = Vector512.Create(bias[5]);
        var a6 = Vector512.Create(bias[6]); var a7 = Vector512.Create(bias[7]);
        for (int ky = 0; ky < kh; ky++, at += stride)
            for (int kx = 0; kx < kw; kx++, k += 8)
            {
                var v = Vector512.Load(at + kx);
                a0 = Vector512.FusedMultiplyAdd(v, Vector512.Create(k[0]), a0);
                a1 = Vector512.FusedMultiplyAdd(v, Vector512.Create(k[1]), a1);
                a2 = Vector512.FusedMultiplyAdd(v, Vector512.Create(k[2]), a2);
                a3 = Vector512.FusedMultiplyAdd(v, Vector512.Create(k[3]), a3);
                a4 = Vector512.FusedMultiplyAdd(v, Vector512.Create(k[4]), a4);
                a5 = Vector512.FusedMultiplyAdd(v, Vector512.Create(k[5]), a5);
                a6 = Vector512.FusedMultiplyAdd(v, Vector512.Create(k[6]), a6);
                a7 = Vector512.FusedMultiplyAdd(v, Vector512.Create(k[7]), a7);
            }
        Vector512.Store(a0, tile); Vector512.Store(a1, tile + 16);
        Vector512.Store(a2, tile + 32); Vector512.Store(a3, tile + 48);
        Vector512.Store(a4, tile + 64); Vector512.Store(a5, tile + 80);
        Vector512.Store(a6, tile + 96); Vector512.Store(a7, tile + 112);
    }

    /// <summary>sum[j] += Σ over the output rows y and x of plane(y + ky, x + kx) · grad[j][y][x], for 8 channels j (a
    /// method of its own, without calls, so the accumulators stay in registers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static unsafe void TapSums(float* p, int stride, float* d, int gradRow, int w16, int rows,
        Vector512<float> last, float* sum)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default,
            a4 = default, a5 = default, a6 = default, a7 = default;
        for (int oy = 0; oy < rows; oy++, p += stride, d += gradRow)
            for (int ox0 = 0; ox0 < w16; ox0 += 16)
            {
                var v = Vector512.Load(p + ox0);
                if (ox0 + 16 == w16) v &= last;
                float* q = d + ox0;
                a0 = Vector512.FusedMultiplyAdd(v, Vector512.Load(q), a0);
                a1 = Vector512.FusedMultiplyAdd(v, Vector512.Load(q + w16), a1);
                a2 = Vector512.FusedMultiplyAdd(v, Vector512.Load(q + 2 * w16), a2);
                a3 = Vector512.FusedMultiplyAdd(v, Vector512.Load(q + 3 * w16), a3);
                a4 = Vector512.FusedMultiplyAdd(v, Vector512.Load(q + 4 * w16), a4);
                a5 = Vector512.FusedMultiplyAdd(v, Vector512.Load(q + 5 * w16), a5);
                a6 = Vector512.FusedMultiplyAdd(v, Vector512.Load(q + 6 * w16), a6);
                a7 = Vector512.FusedMultiplyAdd(v, Vector512.Load(q + 7 * w16), a7);
            }
        sum[0] += Vector512.Sum(a0); sum[1] += Vector512.Sum(a1);
        sum[2] += Vector512.Sum(a2); sum[3] += Vector512.Sum(a3);
        sum[4] += Vector512.Sum(a4); sum[5] += Vector512.Sum(a5);
        sum[6] += Vector512.Sum(a6); sum[7] += Vector512.Sum(a7);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void BackwardKernelDirect(in Conv2dShape s, ReadOnlySpan<float> input,
        ReadOnlySpan<float> dOutput, Span<float> dKernel, float beta)
    {
        int taps = s.KernelHeight * s.KernelWidth, cout = s.OutChannels, groups = (cout + 7) / 8, kw = s.KernelWidth;
        var (rows, stride, w16) = Plane(s);
        int gradRow = groups * 8 * w16; // per output row: [channel][x], zero past cout and past the output width
        float* sum = stackalloc float[taps * groups * 8];
        new Span<float>(sum, taps * groups * 8).Clear();
        // Lanes past the output width read real pixels (times a zero gradient); masked so an
        // infinite pixel there adds nothing.
        var last = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(s.OutWidth - (w16 - 16))).AsSingle();
        var planeArr = Scratch(ref t_plane, rows * stride);
        var gradArr = Scratch(ref t_grad, s.OutHeight * gradRow);
        fixed (float* pin = input, pdy = dOutput, plane = planeArr, grad = gradArr)
            for (int n = 0; n < s.Batch; n++)
            {
                Pad(s, pin + (nint)n * s.Height * s.Width, plane, rows, stride);
                new Span<float>(grad, s.OutHeight * gradRow).Clear();
                float* dy = pdy + (nint)n * s.OutHeight * s.OutWidth * cout;
                for (int oy = 0; oy < s.OutHeight; oy++)
                    for (int x = 0; x < s.OutWidth; x++)
                        for (int co = 0; co < cout; co++)
                            grad[(nint)oy * gradRow + co * w16 + x] = dy[((nint)oy * s.OutWidth + x) * cout + co];
                for (int ky = 0; ky < s.KernelHeight; ky++)
                    for (int kx = 0; kx < kw; kx++)
                        for (int g = 0; g < groups; g++)
                            TapSums(plane + (nint)ky * stride + kx, stride, grad + g * 8 * w16, gradRow, w16,
                                s.OutHeight, last, sum + ((ky * kw + kx) * groups + g) * 8);
            }
        for (int t = 0; t < taps; t++)
            for (int co = 0; co < cout; co++)
            {
                float v = sum[(t * groups + co / 8) * 8 + co % 8];
                ref float dk = ref dKernel[t * cout + co];
                dk = beta == 0f ? v : beta * dk + v;
            }
    }
}
