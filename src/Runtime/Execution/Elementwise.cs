using System.Numerics;
using Nn.Runtime.IR;

namespace Nn.Runtime.Execution;

/// <summary>Elementwise ops with NumPy broadcasting, written as plain index loops.</summary>
internal static class Elementwise<T> where T : IBinaryFloatingPointIeee754<T>
{
    /// <summary>For each element of <paramref name="outShape"/>, the flat index of the operand element it reads
    /// (operand axes aligned from the right; size-1 axes repeat).</summary>
    public static int[] SourceIndex(int[] inShape, int[] outShape)
    {
        int count = Tensor<T>.CountOf(outShape), rank = outShape.Length, off = rank - inShape.Length;
        var map = new int[count];
        if (inShape.SequenceEqual(outShape)) { for (int i = 0; i < count; i++) map[i] = i; return map; }
        var inStrides = Tensor<T>.Strides(inShape);
        var idx = new int[rank];
        for (int i = 0; i < count; i++)
        {
            int src = 0;
            for (int d = off; d < rank; d++)
                if (inShape[d - off] != 1) src += idx[d] * inStrides[d - off];
            map[i] = src;
            for (int d = rank - 1; d >= 0; d--) { if (++idx[d] < outShape[d]) break; idx[d] = 0; }
        }
        return map;
    }

    public static Tensor<T> Unary(UnaryPrimitive op, Tensor<T> x, T alpha)
    {
        var r = new Tensor<T>((int[])x.Shape.Clone());
        for (int i = 0; i < x.Count; i++) r.Data[i] = op.Apply(x.Data[i], alpha);
        return r;
    }

    public static Tensor<T> Binary(BinaryPrimitive op, Tensor<T> a, Tensor<T> b, int[] outShape)
    {
        var r = new Tensor<T>(outShape);
        int[] ia = SourceIndex(a.Shape, outShape), ib = SourceIndex(b.Shape, outShape);
        for (int i = 0; i < r.Count; i++) r.Data[i] = op.Apply(a.Data[ia[i]], b.Data[ib[i]]);
        return r;
    }

    public static Tensor<T> Where(Tensor<T> c, Tensor<T> a, Tensor<T> b, int[] outShape)
    {
        var r = new Tensor<T>(outShape);
        int[] ic = SourceIndex(c.Shape, outShape), ia = SourceIndex(a.Shape, outShape), ib = SourceIndex(b.Shape, outShape);
        for (int i = 0; i < r.Count; i++) r.Data[i] = c.Data[ic[i]] != T.Zero ? a.Data[ia[i]] : b.Data[ib[i]];
        return r;
    }

    public static Tensor<T> Broadcast(Tensor<T> x, int[] outShape)
    {
        var r = new Tensor<T>(outShape);
        var ix = SourceIndex(x.Shape, outShape);
        for (int i = 0; i < r.Count; i++) r.Data[i] = x.Data[ix[i]];
        return r;
    }
}
