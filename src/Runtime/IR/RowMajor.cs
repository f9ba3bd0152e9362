namespace Nn.Runtime.IR;

/// <summary>
/// Index arithmetic of a dense row-major tensor of a concrete shape: strides, the next multi-index, and the
/// broadcast source map. The meaning of a layout, shared by the reference interpreter and the fused engine so that
/// neither depends on the other.
/// </summary>
internal static class RowMajor
{
    /// <summary>The row-major strides of a shape (the last axis has stride 1).</summary>
    public static int[] Strides(int[] shape)
    {
        var s = new int[shape.Length];
        int acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
        return s;
    }

    /// <summary>Advances a row-major multi-index of <paramref name="shape"/> by one element.</summary>
    public static void Next(int[] idx, int[] shape)
    {
        for (int d = idx.Length - 1; d >= 0; d--) { if (++idx[d] < shape[d]) return; idx[d] = 0; }
    }

    /// <summary>For each element of <paramref name="outShape"/>, the flat index of the operand element it reads
    /// under NumPy broadcasting (operand axes aligned from the right; size-1 axes repeat).</summary>
    public static int[] SourceIndex(int[] inShape, int[] outShape)
    {
        int count = outShape.Aggregate(1, (a, d) => checked(a * d)), rank = outShape.Length;
        int off = rank - inShape.Length;
        var map = new int[count];
        if (inShape.SequenceEqual(outShape)) { for (int i = 0; i < count; i++) map[i] = i; return map; }
        var inStrides = Strides(inShape);
        var idx = new int[rank];
        for (int i = 0; i < count; i++)
        {
            int src = 0;
            for (int d = off; d < rank; d++)
                if (inShape[d - off] != 1) src += idx[d] * inStrides[d - off];
            map[i] = src;
            Next(idx, outShape);
        }
        return map;
    }
}
