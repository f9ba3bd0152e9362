using System.Numerics;
using Nn.Runtime.IR;

namespace Nn.Runtime.Execution;

/// <summary>Matrix products and data movement: matmul, transpose, slice, pad, concat. Plain loops over
/// indices.</summary>
internal static class LayoutOps<T> where T : IBinaryFloatingPointIeee754<T>
{
    /// <summary>a [.., m, k] @ b [k, n] (shared right side) or b [.., k, n] (batched, same leading axes).</summary>
    public static Tensor<T> MatMul(Tensor<T> a, Tensor<T> b, int[] outShape)
    {
        int m = a.Shape[^2], k = a.Shape[^1], n = b.Shape[^1];
        int batch = Tensor<T>.CountOf(a.Shape[..^2]);
        bool batchedB = b.Rank > 2;
        var r = new Tensor<T>(outShape);
        for (int t = 0; t < batch; t++)
        {
            int ao = t * m * k, bo = batchedB ? t * k * n : 0, ro = t * m * n;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    T s = T.Zero;
                    for (int p = 0; p < k; p++) s += a.Data[ao + i * k + p] * b.Data[bo + p * n + j];
                    r.Data[ro + i * n + j] = s;
                }
        }
        return r;
    }

    /// <summary>Result axis j is input axis perm[j].</summary>
    public static Tensor<T> Transpose(Tensor<T> x, int[] perm)
    {
        var outShape = perm.Select(p => x.Shape[p]).ToArray();
        var r = new Tensor<T>(outShape);
        var inStrides = Tensor<T>.Strides(x.Shape);
        var idx = new int[outShape.Length];
        for (int i = 0; i < r.Count; i++)
        {
            int src = 0;
            for (int j = 0; j < idx.Length; j++) src += idx[j] * inStrides[perm[j]];
            r.Data[i] = x.Data[src];
            RowMajor.Next(idx, outShape);
        }
        return r;
    }

    /// <summary>Per-axis [start, stop); a stop of -1 takes the axis to its end.</summary>
    public static Tensor<T> Slice(Tensor<T> x, int[] starts, int[] outShape)
    {
        var r = new Tensor<T>(outShape);
        var inStrides = Tensor<T>.Strides(x.Shape);
        var idx = new int[outShape.Length];
        for (int i = 0; i < r.Count; i++)
        {
            int src = 0;
            for (int d = 0; d < idx.Length; d++) src += (idx[d] + starts[d]) * inStrides[d];
            r.Data[i] = x.Data[src];
            RowMajor.Next(idx, outShape);
        }
        return r;
    }

    /// <summary>Zero padding: the input lands at offset <paramref name="before"/> of each axis.</summary>
    public static Tensor<T> Pad(Tensor<T> x, int[] before, int[] outShape)
    {
        var r = new Tensor<T>(outShape);
        var outStrides = Tensor<T>.Strides(outShape);
        var idx = new int[x.Rank];
        for (int i = 0; i < x.Count; i++)
        {
            int dst = 0;
            for (int d = 0; d < idx.Length; d++) dst += (idx[d] + before[d]) * outStrides[d];
            r.Data[dst] = x.Data[i];
            RowMajor.Next(idx, x.Shape);
        }
        return r;
    }

    /// <summary>Join along <paramref name="axis"/>.</summary>
    public static Tensor<T> Concat(IReadOnlyList<Tensor<T>> xs, int axis, int[] outShape)
    {
        var r = new Tensor<T>(outShape);
        int outer = Tensor<T>.CountOf(outShape[..axis]), inner = Tensor<T>.CountOf(outShape[(axis + 1)..]);
        int outRow = outShape[axis] * inner, at = 0;
        foreach (var x in xs)
        {
            int row = x.Shape[axis] * inner;
            for (int o = 0; o < outer; o++) Array.Copy(x.Data, o * row, r.Data, o * outRow + at, row);
            at += row;
        }
        return r;
    }
}
