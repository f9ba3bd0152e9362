using System.Numerics;
using Nn.Runtime.IR;

namespace Nn.Runtime.Execution;

/// <summary>Elementwise ops with NumPy broadcasting, written as plain index loops.</summary>
internal static class Elementwise<T> where T : IBinaryFloatingPointIeee754<T>
{
    public static Tensor<T> Unary(UnaryPrimitive op, Tensor<T> x, T alpha)
    {
        var r = new Tensor<T>((int[])x.Shape.Clone());
        for (int i = 0; i < x.Count; i++) r.Data[i] = op.Apply(x.Data[i], alpha);
        return r;
    }

    public static Tensor<T> Binary(BinaryPrimitive op, Tensor<T> a, Tensor<T> b, int[] outShape)
    {
        var r = new Tensor<T>(outShape);
        int[] ia = RowMajor.SourceIndex(a.Shape, outShape), ib = RowMajor.SourceIndex(b.Shape, outShape);
        for (int i = 0; i < r.Count; i++) r.Data[i] = op.Apply(a.Data[ia[i]], b.Data[ib[i]]);
        return r;
    }

    public static Tensor<T> Where(Tensor<T> c, Tensor<T> a, Tensor<T> b, int[] outShape)
    {
        var r = new Tensor<T>(outShape);
        int[] ic = RowMajor.SourceIndex(c.Shape, outShape), ia = RowMajor.SourceIndex(a.Shape, outShape);
        int[] ib = RowMajor.SourceIndex(b.Shape, outShape);
        for (int i = 0; i < r.Count; i++) r.Data[i] = c.Data[ic[i]] != T.Zero ? a.Data[ia[i]] : b.Data[ib[i]];
        return r;
    }

    public static Tensor<T> Broadcast(Tensor<T> x, int[] outShape)
    {
        var r = new Tensor<T>(outShape);
        var ix = RowMajor.SourceIndex(x.Shape, outShape);
        for (int i = 0; i < r.Count; i++) r.Data[i] = x.Data[ix[i]];
        return r;
    }
}
