using Nn.Runtime.IR;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.Engine.Lowering;

/// <summary>Sum, Mean and ReduceMax: all elements, leading axes (column sums) and trailing axes (row sums) on the
/// library's vector kernels; any other set of axes through an index map built once.</summary>
internal static class Reductions
{
    public static Action Build(OpKind op, int[] inShape, int[] axesAttr, float[][] S, int src, int dst)
    {
        int rank = inShape.Length, inCount = NodeKernels.Count(inShape);
        var reduced = new bool[rank];
        foreach (var ax in axesAttr.Length == 0
            ? Enumerable.Range(0, rank)
            : axesAttr.Select(x => NodeKernels.Axis(x, rank))) reduced[ax] = true;
        int outCount = 1;
        for (int d = 0; d < rank; d++) if (!reduced[d]) outCount *= inShape[d];
        // Axes of size 1 do not matter for the layout.
        var significant = Enumerable.Range(0, rank).Where(d => inShape[d] != 1).ToArray();
        bool leading = significant.SkipWhile(d => reduced[d]).All(d => !reduced[d]);
        bool trailing = significant.TakeWhile(d => !reduced[d]).Count() == significant.Count(d => !reduced[d])
                        && significant.SkipWhile(d => !reduced[d]).All(d => reduced[d]);
        float divisor = outCount == 0 ? 1 : inCount / outCount;
        bool mean = op == OpKind.Mean;
        if (op != OpKind.ReduceMax && inCount > 0 && leading)
            return () =>
            {
                var d = S[dst].AsSpan(0, outCount);
                if (outCount == 1) d[0] = Rows.Sum(S[src].AsSpan(0, inCount));
                else Rows.ColumnSums(S[src].AsSpan(0, inCount), outCount, d);
                if (mean) for (int i = 0; i < d.Length; i++) d[i] /= divisor;
            };
        if (inCount > 0 && trailing && outCount > 0)
        {
            int cols = inCount / outCount;
            return () =>
            {
                var x = S[src]; var d = S[dst];
                for (int r = 0; r < outCount; r++)
                {
                    var row = x.AsSpan(r * cols, cols);
                    d[r] = op == OpKind.ReduceMax ? MaxNaN(row) : mean ? Rows.Sum(row) / divisor : Rows.Sum(row);
                }
            };
        }
        var map = new int[inCount];
        var keptStrides = new int[rank];
        for (int d = rank - 1, acc = 1; d >= 0; d--) { keptStrides[d] = acc; if (!reduced[d]) acc *= inShape[d]; }
        var idx = new int[rank];
        for (int i = 0; i < inCount; i++)
        {
            int o = 0;
            for (int d = 0; d < rank; d++) if (!reduced[d]) o += idx[d] * keptStrides[d];
            map[i] = o;
            for (int d = rank - 1; d >= 0; d--) { if (++idx[d] < inShape[d]) break; idx[d] = 0; }
        }
        return () =>
        {
            var x = S[src]; var r = S[dst].AsSpan(0, outCount);
            r.Fill(op == OpKind.ReduceMax ? float.NegativeInfinity : 0f);
            if (op == OpKind.ReduceMax)
                for (int i = 0; i < inCount; i++) { var v = x[i]; if (float.IsNaN(v) || v > r[map[i]]) r[map[i]] = v; }
            else
                for (int i = 0; i < inCount; i++) r[map[i]] += x[i];
            if (mean) for (int i = 0; i < r.Length; i++) r[i] /= divisor;
        };
    }

    /// <summary>The column sums (or means) of a [rows, n] value stored as column bands
    /// (<see cref="ColumnBands"/>): band b's sums into columns [b·w, (b+1)·w), each on the thread that owns
    /// the band, every column summed over its rows in order (the bits of the whole value's
    /// <see cref="Rows.ColumnSums"/>).</summary>
    public static Action BandedColumnSums(bool mean, int[] inShape, float[][] S, int src, int dst,
        out Action<int> part)
    {
        var work = new BandSums(S, src, dst, inShape[0], inShape[1], mean);
        part = i => work.Execute(i, ColumnBands.Count);
        return () => WorkerPool.Shared.Run(work, ColumnBands.Count);
    }

    private sealed class BandSums(float[][] s, int src, int dst, int rows, int cols, bool mean) : IParallelWork
    {
        public void Execute(int index, int count)
        {
            int bands = ColumnBands.Count, w = cols / bands;
            for (int b = index; b < bands; b += count)
            {
                var d = s[dst].AsSpan(b * w, w);
                Rows.ColumnSums(s[src].AsSpan(b * rows * w, rows * w), w, d);
                if (mean) for (int i = 0; i < d.Length; i++) d[i] /= rows;
            }
        }
    }

    private static float MaxNaN(ReadOnlySpan<float> x)
    {
        float m = float.NegativeInfinity;
        foreach (var v in x) if (float.IsNaN(v) || v > m) m = v;
        return m;
    }
}

/// <summary>Softmax and arg-max along a strided axis, and one-hot rows.</summary>
internal static class Strided
{
    public static void Softmax(float[] x, float[] y, int outer, int size, int inner, bool log)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int start = o * size * inner + i;
                float max = float.NegativeInfinity;
                for (int j = 0; j < size; j++) max = MathF.Max(max, x[start + j * inner]);
                if (float.IsInfinity(max)) max = 0f;
                float sum = 0f;
                for (int j = 0; j < size; j++) sum += MathF.Exp(x[start + j * inner] - max);
                float logSum = MathF.Log(sum);
                for (int j = 0; j < size; j++)
                {
                    int at = start + j * inner;
                    y[at] = log ? x[at] - max - logSum : MathF.Exp(x[at] - max) / sum;
                }
            }
    }

    public static void ArgMax(float[] x, float[] y, int outer, int size, int inner)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int start = o * size * inner + i, best = 0;
                for (int j = 1; j < size; j++) if (x[start + j * inner] > x[start + best * inner]) best = j;
                y[o * inner + i] = best;
            }
    }

    public static void OneHot(float[] labels, Span<float> y, int rows, int width)
    {
        y.Clear();
        for (int r = 0; r < rows; r++)
        {
            int k = (int)Math.Clamp(MathF.Round(labels[r]), int.MinValue, int.MaxValue);
            if (k >= 0 && k < width) y[r * width + k] = 1f;
        }
    }
}

/// <summary>Gather and scatter-add of rows by ids (<see cref="Indexing"/>): a row is one contiguous copy or vector
/// add; every id is checked by <see cref="Indexing.Row"/>, as the reference interpreter checks it.</summary>
internal static class Indexed
{
    public static void Gather(Node n, float[] table, float[] ids, float[] y, int count, int rows, int width)
    {
        for (int i = 0; i < count; i++)
        {
            int row = Indexing.Row(ids[i], rows, n, i);
            table.AsSpan(row * width, width).CopyTo(y.AsSpan(i * width, width));
        }
    }

    public static void ScatterAdd(Node n, float[] g, float[] ids, Span<float> y, int count, int rows, int width)
    {
        y.Clear();
        for (int i = 0; i < count; i++)
        {
            int row = Indexing.Row(ids[i], rows, n, i);
            int to = row * width, from = i * width;
            for (int k = 0; k < width; k++) y[to + k] += g[from + k];
        }
    }
}

/// <summary>Index maps for layout copies (built once per binding) and the gather/scatter loops that use them.</summary>
internal static class Maps
{
    public static int[] Transpose(int[] inShape, int[] perm)
    {
        var outShape = perm.Select(p => inShape[p]).ToArray();
        var inStrides = RowMajor.Strides(inShape);
        var map = new int[NodeKernels.Count(outShape)];
        var idx = new int[outShape.Length];
        for (int i = 0; i < map.Length; i++)
        {
            int s = 0;
            for (int j = 0; j < idx.Length; j++) s += idx[j] * inStrides[perm[j]];
            map[i] = s;
            RowMajor.Next(idx, outShape);
        }
        return map;
    }

    public static int[] Slice(int[] inShape, int[] starts, int[] outShape)
    {
        var inStrides = RowMajor.Strides(inShape);
        var map = new int[NodeKernels.Count(outShape)];
        var idx = new int[outShape.Length];
        for (int i = 0; i < map.Length; i++)
        {
            int s = 0;
            for (int d = 0; d < idx.Length; d++) s += (idx[d] + starts[d]) * inStrides[d];
            map[i] = s;
            RowMajor.Next(idx, outShape);
        }
        return map;
    }

    /// <summary>For each input element, its index in the padded output.</summary>
    public static int[] Pad(int[] inShape, int[] before, int[] outShape)
    {
        var outStrides = RowMajor.Strides(outShape);
        var map = new int[NodeKernels.Count(inShape)];
        var idx = new int[inShape.Length];
        for (int i = 0; i < map.Length; i++)
        {
            int s = 0;
            for (int d = 0; d < idx.Length; d++) s += (idx[d] + before[d]) * outStrides[d];
            map[i] = s;
            RowMajor.Next(idx, inShape);
        }
        return map;
    }

    public static void Gather(float[] x, float[] y, int[] map)
    {
        for (int i = 0; i < map.Length; i++) y[i] = x[map[i]];
    }

    public static void Scatter(ReadOnlySpan<float> x, Span<float> y, int[] map)
    {
        y.Clear();
        for (int i = 0; i < map.Length; i++) y[map[i]] = x[i];
    }
}

/// <summary>The last resort for a node no kernel above handles (a matrix product of operands that fit no GEMM
/// form): plain loops into a fresh array (the destination may share a buffer with an operand), summing over k in
/// order as the reference interpreter does. Correct, but it allocates.</summary>
internal static class Fallback
{
    public static Action Build(Node n, Node[] ops, BindContext c)
    {
        if (n.Op != OpKind.MatMul)
            throw Throw.Exec(RuntimeCodes.BadNode, $"the fused engine has no kernel for `{n.Op}`", n);
        var S = c.Slots;
        int dst = c.Slot(n), sa = c.Slot(ops[0]), sb = c.Slot(ops[1]);
        int[] ash = c.Shape(ops[0]), bsh = c.Shape(ops[1]);
        return () => MatMul(S[sa], ash, S[sb], bsh).CopyTo(S[dst], 0);
    }

    /// <summary>a [.., m, k] @ b [k, n] (shared right side) or b [.., k, n] (batched, same leading axes).</summary>
    private static float[] MatMul(float[] a, int[] ash, float[] b, int[] bsh)
    {
        int m = ash[^2], k = ash[^1], n = bsh[^1];
        int batch = NodeKernels.Count(ash[..^2]);
        bool batchedB = bsh.Length > 2;
        var y = new float[batch * m * n];
        for (int t = 0; t < batch; t++)
        {
            int ao = t * m * k, bo = batchedB ? t * k * n : 0, yo = t * m * n;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    float s = 0f;
                    for (int p = 0; p < k; p++) s += a[ao + i * k + p] * b[bo + p * n + j];
                    y[yo + i * n + j] = s;
                }
        }
        return y;
    }
}
