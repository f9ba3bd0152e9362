using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>
/// Max pooling and its gradient without padding (every window whole inside the image: LeNet's 2×2, stride 2), by
/// pointers instead of <see cref="Pool2d"/>'s generic window loop, which lists each window's cells and runs one channel
/// at a time (about 1 ms per LeNet pooling at batch 64, 20% of the step). Channels run 8 at a time in a Vector256 (the
/// last, partial one too where its extra lanes stay inside the arrays). The same comparisons in the same order as the
/// generic loop (a strictly greater cell replaces the best, so the first maximum wins and a NaN only when first), and
/// the same sums in the same order for the gradient: bit for bit the generic loop's results.
/// </summary>
internal static partial class Pool2d
{
    /// <summary>The direct max kernels on where they apply, for calls made on this thread (the default; false forces
    /// the generic loop, for A/B benchmarks and tests).</summary>
    public static bool UseDirect { get => !t_genericOnly; set => t_genericOnly = !value; }

    [ThreadStatic] private static bool t_genericOnly;

    /// <summary>Whether the max kernels take the direct path: no padding on any side.</summary>
    private static bool Unpadded(in Pool2dShape s) =>
        s.Geometry is { PadTop: 0, PadLeft: 0, PadBottom: 0, PadRight: 0 };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MaxForwardDirect(in Pool2dShape s, ReadOnlySpan<float> input, Span<float> output)
    {
        int c = s.Channels, size = s.Size, oh = s.Geometry.OutHeight, ow = s.Geometry.OutWidth, full = c & ~7;
        nint row = (nint)s.Width * c, step = (nint)s.Stride * c, reach = (size - 1) * (row + c) + full + 8;
        fixed (float* px = input, py = output)
        {
            float* o = py, xEnd = px + s.InputLength, yEnd = py + s.OutputLength;
            for (int n = 0; n < s.Batch; n++)
                for (int oy = 0; oy < oh; oy++)
                {
                    float* win = px + ((nint)n * s.Height + (nint)oy * s.Stride) * row;
                    for (int ox = 0; ox < ow; ox++, win += step, o += c)
                    {
                        for (int ch = 0; ch < full; ch += 8) MaxChunk(win + ch, row, c, size).Store(o + ch);
                        if (full == c) continue;
                        // The channels past the last whole vector: one more vector when it stays inside both
                        // arrays (its extra lanes land on the next output, which overwrites them), else one by one.
                        if (win + reach <= xEnd && o + full + 8 <= yEnd)
                        {
                            MaxChunk(win + full, row, c, size).Store(o + full);
                            continue;
                        }
                        for (int ch = full; ch < c; ch++)
                        {
                            float best = win[ch];
                            for (int ky = 0; ky < size; ky++)
                                for (int kx = ky == 0 ? 1 : 0; kx < size; kx++)
                                {
                                    float v = win[ky * row + kx * c + ch];
                                    if (v > best) best = v;
                                }
                            o[ch] = best;
                        }
                    }
                }
        }
    }

    /// <summary>The maxima of 8 neighbouring channels over the window from <paramref name="win"/>, cells in row-major
    /// order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<float> MaxChunk(float* win, nint row, int c, int size)
    {
        var best = Vector256.Load(win);
        for (int ky = 0; ky < size; ky++)
            for (int kx = ky == 0 ? 1 : 0; kx < size; kx++)
            {
                var v = Vector256.Load(win + ky * row + kx * c);
                best = Vector256.ConditionalSelect(Vector256.GreaterThan(v, best), v, best);
            }
        return best;
    }

    /// <summary>dInput = 0, then each output gradient is added at its window's first maximum; the other cells of the
    /// window get +0 added (no change: a cleared cell never holds −0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MaxBackwardDirect(in Pool2dShape s, ReadOnlySpan<float> input,
        ReadOnlySpan<float> dOutput, Span<float> dInput)
    {
        int c = s.Channels, size = s.Size, oh = s.Geometry.OutHeight, ow = s.Geometry.OutWidth, full = c & ~7;
        nint row = (nint)s.Width * c, step = (nint)s.Stride * c, reach = (size - 1) * (row + c) + full + 8;
        // lanes of the last vector that are channels of this output (the rest add +0 to the next pixel's cells)
        var tail = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(c - full)).AsSingle();
        dInput[..s.InputLength].Clear();
        fixed (float* px = input, pg = dOutput, pd = dInput)
        {
            float* g = pg, gEnd = pg + s.OutputLength;
            nint xLength = s.InputLength;
            for (int n = 0; n < s.Batch; n++)
                for (int oy = 0; oy < oh; oy++)
                {
                    nint first = ((nint)n * s.Height + (nint)oy * s.Stride) * row;
                    for (int ox = 0; ox < ow; ox++, first += step, g += c)
                    {
                        float* win = px + first, dw = pd + first;
                        for (int ch = 0; ch < full; ch += 8)
                            GradChunk(win + ch, dw + ch, row, c, size, Vector256.Load(g + ch));
                        if (full == c) continue;
                        if (first + reach <= xLength && g + full + 8 <= gEnd)
                        {
                            GradChunk(win + full, dw + full, row, c, size, Vector256.Load(g + full) & tail);
                            continue;
                        }
                        for (int ch = full; ch < c; ch++)
                        {
                            float best = win[ch];
                            nint at = ch;
                            for (int ky = 0; ky < size; ky++)
                                for (int kx = ky == 0 ? 1 : 0; kx < size; kx++)
                                {
                                    nint i = ky * row + kx * c + ch;
                                    if (win[i] > best) { best = win[i]; at = i; }
                                }
                            dw[at] += g[ch];
                        }
                    }
                }
        }
    }

    /// <summary>Adds <paramref name="grad"/> (8 neighbouring channels) at the first maximum of each channel's window
    /// from <paramref name="win"/>, and +0 at its other cells.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void GradChunk(float* win, float* dw, nint row, int c, int size, Vector256<float> grad)
    {
        var best = Vector256.Load(win);
        var at = Vector256<int>.Zero;
        for (int ky = 0, j = 0; ky < size; ky++)
            for (int kx = 0; kx < size; kx++, j++)
            {
                if (j == 0) continue;
                var v = Vector256.Load(win + ky * row + kx * c);
                var gt = Vector256.GreaterThan(v, best);
                best = Vector256.ConditionalSelect(gt, v, best);
                at = Vector256.ConditionalSelect(gt.AsInt32(), Vector256.Create(j), at);
            }
        for (int ky = 0, j = 0; ky < size; ky++)
            for (int kx = 0; kx < size; kx++, j++)
            {
                float* d = dw + ky * row + kx * c;
                (Vector256.Load(d) + (grad & Vector256.Equals(at, Vector256.Create(j)).AsSingle())).Store(d);
            }
    }
}
