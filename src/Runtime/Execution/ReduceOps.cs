using System.Numerics;
using Nn.Runtime.IR;

namespace Nn.Runtime.Execution;

/// <summary>Reductions and the normalised exponentials.</summary>
internal static class ReduceOps<T> where T : IBinaryFloatingPointIeee754<T>
{
    /// <summary>Sum, Mean or ReduceMax over <paramref name="axes"/> (all when empty); the result has
    /// <paramref name="outShape"/> (which may or may not keep the reduced axes: the data is the same).</summary>
    public static Tensor<T> Reduce(OpKind op, Tensor<T> x, int[] axes, int[] outShape)
    {
        var reduced = new bool[x.Rank];
        foreach (var a in axes.Length == 0 ? Enumerable.Range(0, x.Rank) : axes) reduced[a] = true;
        var keptShape = x.Shape.Select((d, i) => reduced[i] ? 1 : d).ToArray();
        var keptStrides = Tensor<T>.Strides(keptShape);
        var r = Tensor<T>.Fill(outShape, op == OpKind.ReduceMax ? T.NegativeInfinity : T.Zero);
        var idx = new int[x.Rank];
        for (int i = 0; i < x.Count; i++)
        {
            int dst = 0;
            for (int d = 0; d < idx.Length; d++) if (!reduced[d]) dst += idx[d] * keptStrides[d];
            var v = x.Data[i];
            r.Data[dst] = op == OpKind.ReduceMax ? (T.IsNaN(v) || v > r.Data[dst] ? v : r.Data[dst]) : r.Data[dst] + v;
            RowMajor.Next(idx, x.Shape);
        }
        if (op == OpKind.Mean && r.Count > 0)
        {
            var n = T.CreateChecked(x.Count / r.Count);
            for (int i = 0; i < r.Count; i++) r.Data[i] /= n;
        }
        return r;
    }

    /// <summary>Softmax or log-softmax along <paramref name="axis"/>, shifted by the line's maximum for
    /// stability.</summary>
    public static Tensor<T> Softmax(Tensor<T> x, int axis, bool log)
    {
        var r = new Tensor<T>((int[])x.Shape.Clone());
        ForEachLine(x.Shape, axis, (_, start, stride, size) =>
        {
            T max = T.NegativeInfinity;
            for (int j = 0; j < size; j++) max = T.Max(max, x.Data[start + j * stride]);
            if (T.IsInfinity(max)) max = T.Zero;
            T sum = T.Zero;
            for (int j = 0; j < size; j++) sum += T.Exp(x.Data[start + j * stride] - max);
            T logSum = T.Log(sum);
            for (int j = 0; j < size; j++)
            {
                int at = start + j * stride;
                r.Data[at] = log ? x.Data[at] - max - logSum : T.Exp(x.Data[at] - max) / sum;
            }
        });
        return r;
    }

    /// <summary>Calls <paramref name="body"/>(line number, first flat index, stride, length) for every line along an
    /// axis.</summary>
    internal static void ForEachLine(int[] shape, int axis, Action<int, int, int, int> body)
    {
        int outer = Tensor<T>.CountOf(shape[..axis]), inner = Tensor<T>.CountOf(shape[(axis + 1)..]),
            size = shape[axis];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
                body(o * inner + i, o * size * inner + i, inner, size);
    }
}
