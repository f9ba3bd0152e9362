using System.Numerics;
using Nn.Runtime.IR;

namespace Nn.Runtime.Execution;

/// <summary>Gather and scatter-add of rows by integer-valued ids, plain loops (the engine's kernels are tested
/// against these). Ids are checked by <see cref="Indexing.Row"/>.</summary>
internal static class IndexOps<T> where T : IBinaryFloatingPointIeee754<T>
{
    /// <summary>result[i, k] = table[ids[i], k] (i over the ids row-major).</summary>
    public static Tensor<T> Gather(Node n, Tensor<T> table, Tensor<T> ids, int[] outShape)
    {
        int v = table.Shape[0], d = table.Shape[1];
        var r = new Tensor<T>(outShape);
        for (int i = 0; i < ids.Count; i++)
        {
            int row = Indexing.Row(double.CreateChecked(ids.Data[i]), v, n, i);
            for (int k = 0; k < d; k++) r.Data[i * d + k] = table.Data[row * d + k];
        }
        return r;
    }

    /// <summary>result[ids[i], k] += g[i, k], from a zero table of <paramref name="outShape"/> [v, d].</summary>
    public static Tensor<T> ScatterAdd(Node n, Tensor<T> g, Tensor<T> ids, int[] outShape)
    {
        int v = outShape[0], d = outShape[1];
        var r = new Tensor<T>(outShape);
        for (int i = 0; i < ids.Count; i++)
        {
            int row = Indexing.Row(double.CreateChecked(ids.Data[i]), v, n, i);
            for (int k = 0; k < d; k++) r.Data[row * d + k] += g.Data[i * d + k];
        }
        return r;
    }
}
