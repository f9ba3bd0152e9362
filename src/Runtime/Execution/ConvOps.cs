using System.Numerics;

namespace Nn.Runtime.Execution;

/// <summary>Convolution and pooling on NHWC images with [kh, kw, cin, cout] kernels, and their gradients,
/// written as the direct nested loops of their definitions.</summary>
internal static class ConvOps<T> where T : IBinaryFloatingPointIeee754<T>
{
    /// <summary>The geometry shared by a convolution and its two gradients.</summary>
    private readonly record struct Geo(int N, int H, int W, int Ci, int Kh, int Kw, int Co, int Oh, int Ow, int Sh, int Sw, int Pt, int Pl)
    {
        public static Geo Of(int[] x, int[] k, int[] y, int[] ints) =>
            new(x[0], x[1], x[2], x[3], k[0], k[1], k[3], y[1], y[2], ints[0], ints[1], ints[2], ints[3]);
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

    /// <summary>y[b,oy,ox,o] = Σ x[b, oy·sh + ky − pt, ox·sw + kx − pl, c] · k[ky,kx,c,o] (zero outside the image).</summary>
    public static Tensor<T> Conv2d(Tensor<T> x, Tensor<T> k, int[] ints, int[] outShape)
    {
        var y = new Tensor<T>(outShape);
        Geo.Of(x.Shape, k.Shape, outShape, ints).ForEach((xi, ki, yi) => y.Data[yi] += x.Data[xi] * k.Data[ki]);
        return y;
    }

    /// <summary>dx = the adjoint of conv2d in its input: each dy element spreads back through the kernel.</summary>
    public static Tensor<T> Conv2dGradInput(Tensor<T> dy, Tensor<T> k, int[] ints, int[] xShape)
    {
        var dx = new Tensor<T>(xShape);
        Geo.Of(xShape, k.Shape, dy.Shape, ints).ForEach((xi, ki, yi) => dx.Data[xi] += dy.Data[yi] * k.Data[ki]);
        return dx;
    }

    /// <summary>dk = the adjoint of conv2d in its kernel.</summary>
    public static Tensor<T> Conv2dGradKernel(Tensor<T> x, Tensor<T> dy, int[] ints, int[] kShape)
    {
        var dk = new Tensor<T>(kShape);
        Geo.Of(x.Shape, kShape, dy.Shape, ints).ForEach((xi, ki, yi) => dk.Data[ki] += x.Data[xi] * dy.Data[yi]);
        return dk;
    }

    /// <summary>Visits each pooling window: (flat output index, flat input indices of the window in row-major order).</summary>
    private static void Windows(int[] x, int[] y, int size, int stride, Action<int, int[]> body)
    {
        var window = new int[size * size];
        for (int b = 0; b < x[0]; b++)
            for (int oy = 0; oy < y[1]; oy++)
                for (int ox = 0; ox < y[2]; ox++)
                    for (int c = 0; c < x[3]; c++)
                    {
                        for (int dy = 0; dy < size; dy++)
                            for (int dx = 0; dx < size; dx++)
                                window[dy * size + dx] = ((b * x[1] + oy * stride + dy) * x[2] + ox * stride + dx) * x[3] + c;
                        body(((b * y[1] + oy) * y[2] + ox) * y[3] + c, window);
                    }
    }

    private static int ArgMax(T[] data, int[] window)
    {
        int best = window[0];
        foreach (var i in window) if (data[i] > data[best]) best = i;
        return best;
    }

    /// <summary>Maximum of each window.</summary>
    public static Tensor<T> MaxPool(Tensor<T> x, int size, int stride, int[] outShape)
    {
        var y = new Tensor<T>(outShape);
        Windows(x.Shape, outShape, size, stride, (yi, w) => y.Data[yi] = x.Data[ArgMax(x.Data, w)]);
        return y;
    }

    /// <summary>Routes each dy element to the first arg-max of its window in x.</summary>
    public static Tensor<T> MaxPoolGrad(Tensor<T> x, Tensor<T> dy, int size, int stride)
    {
        var dx = new Tensor<T>((int[])x.Shape.Clone());
        Windows(x.Shape, dy.Shape, size, stride, (yi, w) => dx.Data[ArgMax(x.Data, w)] += dy.Data[yi]);
        return dx;
    }

    /// <summary>Mean of each window.</summary>
    public static Tensor<T> AvgPool(Tensor<T> x, int size, int stride, int[] outShape)
    {
        var y = new Tensor<T>(outShape);
        var area = T.CreateChecked(size * size);
        Windows(x.Shape, outShape, size, stride, (yi, w) =>
        {
            T s = T.Zero;
            foreach (var i in w) s += x.Data[i];
            y.Data[yi] = s / area;
        });
        return y;
    }

    /// <summary>Spreads each dy element evenly over its window.</summary>
    public static Tensor<T> AvgPoolGrad(Tensor<T> dy, int size, int stride, int[] xShape)
    {
        var dx = new Tensor<T>(xShape);
        var area = T.CreateChecked(size * size);
        Windows(xShape, dy.Shape, size, stride, (yi, w) =>
        {
            foreach (var i in w) dx.Data[i] += dy.Data[yi] / area;
        });
        return dx;
    }
}
