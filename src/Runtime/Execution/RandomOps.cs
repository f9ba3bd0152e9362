using System.Numerics;
using Nn.Runtime.Util;

namespace Nn.Runtime.Execution;

/// <summary>Dropout masks and one-hot labels. The dropout stream is a public function of (seed, step, stream id)
/// so that every executor (reference, fused kernels, a resumed run) draws the same mask.</summary>
public static class Dropout
{
    /// <summary>The generator for one DropoutMask node at one training step:
    /// <c>Rng.Derive(Rng.Derive(seed, step).NextUInt64(), stream)</c>. Elements draw <see cref="Rng.NextDouble"/>
    /// in row-major order; an element is dropped (0) when the draw is below p, else kept as 1/(1−p).</summary>
    public static Rng Stream(ulong seed, long step, int stream) => new(StreamSeed(seed, step, stream));

    /// <summary>The same stream as <see cref="Stream"/>, as an allocation-free struct (for the fused engine).</summary>
    public static Xoshiro256 StreamState(ulong seed, long step, int stream) => new(StreamSeed(seed, step, stream));

    private static ulong StreamSeed(ulong seed, long step, int stream) =>
        Xoshiro256.DeriveSeed(new Xoshiro256(Xoshiro256.DeriveSeed(seed, unchecked((ulong)step))).NextUInt64(), unchecked((ulong)stream));

    /// <summary>The mask values, as doubles, for <paramref name="count"/> elements.</summary>
    public static double[] Mask(ulong seed, long step, int stream, double p, int count)
    {
        var rng = Stream(seed, step, stream);
        var keep = 1.0 / (1.0 - p);
        var m = new double[count];
        for (int i = 0; i < count; i++) m[i] = rng.NextDouble() < p ? 0.0 : keep;
        return m;
    }
}

/// <summary>The ops that make masks and labels rather than differentiable values: dropout masks, one-hot rows, arg-max.</summary>
internal static class RandomOps<T> where T : IBinaryFloatingPointIeee754<T>
{
    /// <summary>Index of the first maximum along <paramref name="axis"/>, axis kept with size 1.</summary>
    public static Tensor<T> ArgMax(Tensor<T> x, int axis, int[] outShape)
    {
        var r = new Tensor<T>(outShape);
        ReduceOps<T>.ForEachLine(x.Shape, axis, (line, start, stride, size) =>
        {
            int best = 0;
            for (int j = 1; j < size; j++) if (x.Data[start + j * stride] > x.Data[start + best * stride]) best = j;
            r.Data[line] = T.CreateChecked(best);
        });
        return r;
    }

    public static Tensor<T> DropoutMask(int[] shape, double p, int stream, RunOptions o) =>
        Tensor<T>.FromDoubles(shape, Dropout.Mask(o.Seed, o.Step, stream, p, Tensor<T>.CountOf(shape)));

    /// <summary>Row i of the result is 1 at column round(labels[i]) (a label outside [0, width) gives a zero row).</summary>
    public static Tensor<T> OneHot(Tensor<T> labels, int width, int[] outShape)
    {
        var r = new Tensor<T>(outShape);
        for (int i = 0; i < labels.Count; i++)
        {
            var c = int.CreateSaturating(T.Round(labels.Data[i]));
            if (c >= 0 && c < width) r.Data[i * width + c] = T.One;
        }
        return r;
    }
}
