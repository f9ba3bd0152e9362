using System.Numerics;
using Nn.Runtime.IR;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.Execution;

/// <summary>Convolution and pooling on NHWC images with [kh, kw, cin, cout] kernels, and their gradients,
/// written as the direct nested loops of their definitions.</summary>
internal static class ConvOps<T> where T : IBinaryFloatingPointIeee754<T>
{
    /// <summary>The geometry shared by a convolution and its two gradients.</summary>
    private readonly record struct Geo(int N, int H, int W, int Ci, int Kh, int Kw, int Co, int Oh, int Ow, int Sh,
        int Sw, int Pt, int Pl)
    {
        public static Geo Of(int[] x, int[] k, int[] y, ConvAttrs conv)
        {
            var g = conv.Geometry(x[1], x[2], k[0], k[1]);
            if (g.OutHeight != y[1] || g.OutWidth != y[2])
                throw Throw.Bug($"a conv2d output of {y[1]}×{y[2]} where its geometry gives " +
                    $"{g.OutHeight}×{g.OutWidth}");
            return new(x[0], x[1], x[2], x[3], k[0], k[1], k[3], y[1], y[2], conv.StrideH, conv.StrideW,
                g.PadTop, g.PadLeft);
        }
        public int X(int b, int iy, int ix, int c) => ((b * H + iy) * W + ix) * Ci + c;
        public int K(int ky, int kx, int c, int o) => ((ky * Kw + kx) * Ci + c) * Co + o;
        public int Y(int b, int oy, int ox, int o) => ((b * Oh + oy) * Ow + ox) * Co + o;

        /// <summary>Visits every (output position, kernel tap) pair whose input position is inside the image.</summary>
        public void ForEach(Action<int, int, int> body)
        {
            for (int b = 0; b < N; b++)
                for (int oy = 0; oy < Oh; oy++)
                    for (int ox = 0; ox < Ow; ox++)
                        for (int ky = 0; ky < Kh; ky++)
                        {
                            int iy = oy * Sh + ky - Pt;
                            if (iy < 0 || iy >= H) continue;
                            for (int kx = 0; kx < Kw; kx++)
                            {
                                int ix = ox * Sw + kx - Pl;
                                if (ix < 0 || ix >= W) continue;
                                for (int c = 0; c < Ci; c++)
                                    for (int o = 0; o < Co; o++)
                                        body(X(b, iy, ix, c), K(ky, kx, c, o), Y(b, oy, ox, o));
                            }
                        }
        }
    }

    /// <summary>y[b,oy,ox,o] = Σ x[b, oy·sh + ky − pt, ox·sw + kx − pl, c] · k[ky,kx,c,o] (zero outside the
    /// image).</summary>
    public static Tensor<T> Conv2d(Tensor<T> x, Tensor<T> k, ConvAttrs conv, int[] outShape)
    {
        var y = new Tensor<T>(outShape);
        Geo.Of(x.Shape, k.Shape, outShape, conv).ForEach((xi, ki, yi) => y.Data[yi] += x.Data[xi] * k.Data[ki]);
        return y;
    }

    /// <summary>dx = the adjoint of conv2d in its input: each dy element spreads back through the kernel.</summary>
    public static Tensor<T> Conv2dGradInput(Tensor<T> dy, Tensor<T> k, ConvAttrs conv, int[] xShape)
    {
        var dx = new Tensor<T>(xShape);
        Geo.Of(xShape, k.Shape, dy.Shape, conv).ForEach((xi, ki, yi) => dx.Data[xi] += dy.Data[yi] * k.Data[ki]);
        return dx;
    }

    /// <summary>dk = the adjoint of conv2d in its kernel.</summary>
    public static Tensor<T> Conv2dGradKernel(Tensor<T> x, Tensor<T> dy, ConvAttrs conv, int[] kShape)
    {
        var dk = new Tensor<T>(kShape);
        Geo.Of(x.Shape, kShape, dy.Shape, conv).ForEach((xi, ki, yi) => dk.Data[ki] += x.Data[xi] * dy.Data[yi]);
        return dk;
    }

    /// <summary>Visits each pooling window: (flat output index, flat input indices of the window's cells inside the
    /// image in row-major order, their count). Padded cells are left out: never a maximum, not counted in a
    /// mean.</summary>
    private static void Windows(int[] x, int[] y, PoolAttrs pool, Action<int, int[], int> body)
    {
        int size = pool.Size, stride = pool.Stride;
        var g = pool.Geometry(x[1], x[2]);
        if (g.OutHeight != y[1] || g.OutWidth != y[2])
            throw Throw.Bug($"a pooling output of {y[1]}×{y[2]} where its geometry gives {g.OutHeight}×{g.OutWidth}");
        var window = new int[size * size];
        for (int b = 0; b < x[0]; b++)
            for (int oy = 0; oy < y[1]; oy++)
                for (int ox = 0; ox < y[2]; ox++)
                    for (int c = 0; c < x[3]; c++)
                    {
                        int count = 0;
                        for (int dy = 0; dy < size; dy++)
                            for (int dx = 0; dx < size; dx++)
                            {
                                int iy = oy * stride + dy - g.PadTop, ix = ox * stride + dx - g.PadLeft;
                                if (iy >= 0 && iy < x[1] && ix >= 0 && ix < x[2])
                                    window[count++] = ((b * x[1] + iy) * x[2] + ix) * x[3] + c;
                            }
                        body(((b * y[1] + oy) * y[2] + ox) * y[3] + c, window, count);
                    }
    }

    private static int ArgMax(T[] data, int[] window, int count)
    {
        int best = window[0];
        for (int j = 1; j < count; j++) if (data[window[j]] > data[best]) best = window[j];
        return best;
    }

    /// <summary>Maximum of each window.</summary>
    public static Tensor<T> MaxPool(Tensor<T> x, PoolAttrs pool, int[] outShape)
    {
        var y = new Tensor<T>(outShape);
        Windows(x.Shape, outShape, pool, (yi, w, n) => y.Data[yi] = x.Data[ArgMax(x.Data, w, n)]);
        return y;
    }

    /// <summary>Routes each dy element to the first arg-max of its window in x.</summary>
    public static Tensor<T> MaxPoolGrad(Tensor<T> x, Tensor<T> dy, PoolAttrs pool)
    {
        var dx = new Tensor<T>((int[])x.Shape.Clone());
        Windows(x.Shape, dy.Shape, pool, (yi, w, n) => dx.Data[ArgMax(x.Data, w, n)] += dy.Data[yi]);
        return dx;
    }

    /// <summary>Mean of each window's cells inside the image.</summary>
    public static Tensor<T> AvgPool(Tensor<T> x, PoolAttrs pool, int[] outShape)
    {
        var y = new Tensor<T>(outShape);
        Windows(x.Shape, outShape, pool, (yi, w, n) =>
        {
            T s = T.Zero;
            for (int j = 0; j < n; j++) s += x.Data[w[j]];
            y.Data[yi] = s / T.CreateChecked(n);
        });
        return y;
    }

    /// <summary>Spreads each dy element evenly over its window's cells inside the image.</summary>
    public static Tensor<T> AvgPoolGrad(Tensor<T> dy, PoolAttrs pool, int[] xShape)
    {
        var dx = new Tensor<T>(xShape);
        Windows(xShape, dy.Shape, pool, (yi, w, n) =>
        {
            for (int j = 0; j < n; j++) dx.Data[w[j]] += dy.Data[yi] / T.CreateChecked(n);
        });
        return dx;
    }
}
