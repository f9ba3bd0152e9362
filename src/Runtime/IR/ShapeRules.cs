using Nn.Runtime.Kernels;

namespace Nn.Runtime.IR;

/// <summary>A shape error found while building a graph. <see cref="NnRuntimeException.Code"/> is the stable
/// diagnostic code; the compiler reports it at the span of the expression that made the node.</summary>
internal sealed class ShapeException(string code, string message)
    : NnRuntimeException(code, SourceSpan.None, message, message, null, null);

/// <summary>The shape rule of every primitive. Codes: NN0201 broadcasting, NN0202 rank, NN0203 matmul inner sizes,
/// NN0204 reshape count, NN0205 axis out of range, NN0206 concat, NN0207 conv/pool, NN0208 bad attribute.</summary>
internal static class ShapeRules
{
    private static ShapeException Fail(string code, string message) => new(code, message);

    /// <summary>NumPy broadcasting: align from the right; equal dims stay, a fixed 1 stretches.</summary>
    public static Shape Broadcast(Shape a, Shape b, string what = "the operands")
    {
        int rank = Math.Max(a.Rank, b.Rank);
        var dims = new Dim[rank];
        for (int i = 0; i < rank; i++)
        {
            int ia = a.Rank - rank + i, ib = b.Rank - rank + i;
            Dim da = ia >= 0 ? a[ia] : Dim.Of(1), db = ib >= 0 ? b[ib] : Dim.Of(1);
            if (da == db) dims[i] = da;
            else if (da.IsOne) dims[i] = db;
            else if (db.IsOne) dims[i] = da;
            else
                throw Fail("NN0201", $"{what} cannot be broadcast together: the left side is {a} and the right side "
                    + $"is {b} (axis {i} of the result: {da} vs {db})");
        }
        return new Shape(dims);
    }

    /// <summary>True when <paramref name="from"/> broadcasts to exactly <paramref name="to"/>.</summary>
    public static bool BroadcastsTo(Shape from, Shape to)
    {
        try { return Broadcast(from, to).Equals(to); } catch (ShapeException) { return false; }
    }

    /// <summary>a [.., m, k] @ b [k, n] → [.., m, n]; or batched with equal leading axes.</summary>
    public static Shape MatMul(Shape a, Shape b)
    {
        if (a.Rank < 2 || b.Rank < 2)
            throw Fail("NN0202",
                $"`@` needs matrices (two or more axes), but the left side is {a} and the right side is {b}");
        if (a[-1] != b[-2])
            throw Fail("NN0203",
                $"`@` needs the inner sizes to agree, but the left side is {a} and the right side is {b}");
        if (b.Rank == 2)
            return a.With(a.Rank - 1, b[-1]);
        if (a.Rank != b.Rank || !a.Dims[..^2].SequenceEqual(b.Dims[..^2]))
            throw Fail("NN0203",
                $"batched `@` needs equal leading axes, but the left side is {a} and the right side is {b}");
        return a.With(a.Rank - 1, b[-1]);
    }

    /// <summary>Normalise an axis (negative counts from the end) and check it.</summary>
    public static int Axis(int axis, int rank, string op)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
            throw Fail("NN0205", $"`{op}` over axis {axis}, but the value has {rank} axes (0 to {rank - 1})");
        return a;
    }

    /// <summary>Reduction over <paramref name="axes"/> (all axes when empty).</summary>
    public static Shape Reduce(Shape x, int[] axes, bool keepDims, string op)
    {
        var set = axes.Length == 0
            ? Enumerable.Range(0, x.Rank).ToHashSet()
            : axes.Select(a => Axis(a, x.Rank, op)).ToHashSet();
        var dims = new List<Dim>();
        for (int i = 0; i < x.Rank; i++)
            if (!set.Contains(i)) dims.Add(x[i]);
            else if (keepDims) dims.Add(Dim.Of(1));
        return new Shape(dims.ToArray());
    }

    /// <summary>Reshape keeps the element count: fixed sizes multiply to the same product and symbols match as a
    /// multiset.</summary>
    public static Shape Reshape(Shape x, Shape target)
    {
        static (long, string) Sig(Shape s) =>
            (s.Dims.ToArray().Where(d => d.IsFixed).Aggregate(1L, (p, d) => p * d.Size),
             string.Join(",", s.Dims.ToArray().Where(d => !d.IsFixed).Select(d => d.Symbol).Order()));
        if (Sig(x) != Sig(target))
            throw Fail("NN0204", $"`reshape` must keep the number of elements, but {x} cannot become {target}");
        return target;
    }

    /// <summary>Permutation of axes.</summary>
    public static Shape Transpose(Shape x, int[] perm)
    {
        if (perm.Length != x.Rank || perm.Order().Where((p, i) => p != i).Any())
            throw Fail("NN0208",
                $"`transpose` needs a permutation of the {x.Rank} axes of {x}, got [{string.Join(", ", perm)}]");
        return new Shape(perm.Select(p => x[p]).ToArray());
    }

    /// <summary>Concatenation along one axis; all other axes must agree.</summary>
    public static Shape Concat(IReadOnlyList<Shape> xs, int axis)
    {
        if (xs.Count == 0) throw Fail("NN0206", "`concat` needs at least one value");
        int rank = xs[0].Rank, a = Axis(axis, rank, "concat");
        long total = 0;
        foreach (var s in xs)
        {
            if (s.Rank != rank || Enumerable.Range(0, rank).Any(i => i != a && s[i] != xs[0][i]))
                throw Fail("NN0206",
                    $"`concat` along axis {axis} needs the other axes to agree, but got {xs[0]} and {s}");
            if (!s[a].IsFixed)
                throw Fail("NN0206", $"`concat` along axis {axis} needs fixed sizes on that axis, but got {s}");
            total += s[a].Size;
        }
        return xs[0].With(a, Dim.Of((int)total));
    }

    /// <summary>conv2d: x [n, h, w, cin], k [kh, kw, cin, cout] → [n, oh, ow, cout] at the given strides and paddings;
    /// the output size is <see cref="WindowGeometry"/>'s.</summary>
    public static Shape Conv2d(Shape x, Shape k, ConvAttrs conv)
    {
        if (x.Rank != 4 || k.Rank != 4)
            throw Fail("NN0207",
                $"`conv2d` needs an image [n, h, w, c] and a kernel [kh, kw, cin, cout], but got {x} and {k}");
        if (x[3] != k[2])
            throw Fail("NN0207", $"`conv2d` needs the image's channels (its last axis, {x[3]}) to equal the kernel's "
                + $"input channels (its third axis, {k[2]}), but the image is {x} and the kernel is {k}");
        if (!x[1].IsFixed || !x[2].IsFixed || !k[0].IsFixed || !k[1].IsFixed)
            throw Fail("NN0207", $"`conv2d` needs fixed heights and widths, got {x} and {k}");
        if (k[0].Size < 1 || k[1].Size < 1) throw Fail("NN0207", $"`conv2d` needs a kernel of at least 1×1, got {k}");
        CheckWindow(conv.StrideH, conv.StrideW, conv.Pads, "conv2d", "strides");
        var g = conv.Geometry(x[1].Size, x[2].Size, k[0].Size, k[1].Size);
        if (!g.Fits) throw Fail("NN0207", $"`conv2d`: the kernel {k} is larger than the padded image {x}");
        return new Shape(x[0], g.OutHeight, g.OutWidth, k[3]);
    }

    /// <summary>Pooling with a square window: x [n, h, w, c] → [n, h', w', c]; the output size is
    /// <see cref="WindowGeometry"/>'s.</summary>
    public static Shape Pool2d(Shape x, PoolAttrs pool, string op)
    {
        if (x.Rank != 4) throw Fail("NN0207", $"`{op}` needs an image [n, h, w, c], but got {x}");
        if (!x[1].IsFixed || !x[2].IsFixed) throw Fail("NN0207", $"`{op}` needs fixed heights and widths, got {x}");
        CheckWindow(pool.Size, pool.Stride, pool.Pads, op, "a window size and a stride");
        int size = pool.Size;
        var pads = pool.Pads.Flat;
        if (pads.Any(p => p > size / 2))
            throw Fail("NN0208",
                $"`{op}` pads at most half its window ({size / 2}) on each side, got [{string.Join(", ", pads)}]");
        var g = pool.Geometry(x[1].Size, x[2].Size);
        if (!g.Fits) throw Fail("NN0207", $"`{op}` window {size} is larger than the image {x}");
        return new Shape(x[0], g.OutHeight, g.OutWidth, x[3]);
    }

    /// <summary>A window's attributes: two positive numbers (strides, or a window size and a stride), then four
    /// paddings of 0 or more.</summary>
    private static void CheckWindow(int a, int b, Pads pads, string op, string first)
    {
        if (a < 1 || b < 1 || pads.Top < 0 || pads.Left < 0 || pads.Bottom < 0 || pads.Right < 0)
            throw Fail("NN0208", $"`{op}` needs {first} of 1 or more and four paddings of 0 or more, " +
                $"got [{string.Join(", ", (int[])[a, b, .. pads.Flat])}]");
    }

    /// <summary>Slicing: per-axis [start, stop) on fixed axes; symbolic axes must be taken whole.</summary>
    public static Shape Slice(Shape x, int[] starts, int[] stops)
    {
        if (starts.Length != x.Rank || stops.Length != x.Rank)
            throw Fail("NN0208", $"a slice of {x} needs one range per axis");
        var dims = new Dim[x.Rank];
        for (int i = 0; i < x.Rank; i++)
        {
            if (!x[i].IsFixed)
            {
                if (starts[i] != 0 || stops[i] != -1)
                    throw Fail("NN0208",
                        $"axis {i} of {x} has the variable size {x[i]} and can only be taken whole (`*`)");
                dims[i] = x[i];
                continue;
            }
            int size = x[i].Size, stop = stops[i] == -1 ? size : stops[i];
            if (starts[i] < 0 || stop > size || starts[i] >= stop)
                throw Fail("NN0208", $"slice {starts[i]}..{stop - 1} is outside axis {i} of {x} (0..{size - 1})");
            dims[i] = Dim.Of(stop - starts[i]);
        }
        return new Shape(dims);
    }
}
