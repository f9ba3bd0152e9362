using System.Numerics;
using Nn.Runtime.Util;

namespace Nn.Runtime.Execution;

/// <summary>The ops that make masks and labels rather than differentiable values: dropout masks, one-hot rows,
/// arg-max.</summary>
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
        Tensor<T>.FromDoubles(shape, Dropout.Mask(o.Seed, o.Step, stream, p, Tensor<T>.CountOf(shape),
            shape.Length == 0 || shape[0] == 0 ? 0 : (long)o.RowOffset * (Tensor<T>.CountOf(shape) / shape[0])));

    /// <summary>Row i of the result is 1 at column round(labels[i]) (a label outside [0, width) gives a zero
    /// row).</summary>
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
