using Nn.Runtime.IR;

namespace Nn.Runtime.Rewrite;

/// <summary>
/// Simplification rules for slices of values assembled from pieces (<see cref="Simplify"/>): <c>stack</c> then
/// <c>lastStep</c> is a slice of a concatenation, and the gradient of a slice is a zero padding that the gradient of
/// a concatenation slices again. Each rule returns a node of the slice's shape, or null to keep the slice.
/// </summary>
internal static class Pieces
{
    /// <summary>A slice of <paramref name="concat"/> that takes every operand's other axes whole and, on the
    /// concatenation's axis, whole operands (→ the operand, or the concatenation of those operands) or a range within
    /// one operand (→ the same slice of that operand).</summary>
    public static Node? SliceOfConcat(GraphBuilder b, Node slice, Node concat)
    {
        var (starts, stops) = slice.Attrs.Slice!;
        int rank = concat.Shape.Rank;
        int axis = concat.Attrs.Axes.Length > 0 ? ShapeRules.Axis(concat.Attrs.Axes[0], rank, "concat") : 0;
        if (!concat.Shape[axis].IsFixed) return null;
        for (int k = 0; k < rank; k++)
            if (k != axis && !Whole(concat.Shape[k], starts[k], stops[k])) return null;
        int start = starts[axis], stop = stops[axis] == -1 ? concat.Shape[axis].Size : stops[axis];
        var xs = concat.Inputs;
        int offset = 0, first = -1;
        for (int i = 0; i < xs.Count; offset += xs[i].Shape[axis].Size, i++)
        {
            int size = xs[i].Shape[axis].Size;
            if (start >= offset && stop <= offset + size)
            {
                if (start == offset && stop == offset + size) return xs[i];
                var within = (int[])starts.Clone();
                var until = (int[])stops.Clone();
                within[axis] = start - offset;
                until[axis] = stop - offset;
                return b.Slice(xs[i], within, until, slice.Span);
            }
            if (start == offset) first = i;
            if (first >= 0 && stop == offset + size)
                return b.Concat(xs.Skip(first).Take(i - first + 1).ToList(), axis, slice.Span);
        }
        return null;
    }

    /// <summary>A slice of the zero padding <paramref name="pad"/> that takes exactly the padded operand (→ the
    /// operand) or, on some axis, only zeros (→ a zero constant).</summary>
    public static Node? SliceOfPad(GraphBuilder b, Node slice, Node pad)
    {
        var (starts, stops) = slice.Attrs.Slice!;
        var (before, after) = pad.Attrs.Pad!;
        var inner = pad.Inputs[0].Shape;
        bool exact = true;
        for (int k = 0; k < inner.Rank; k++)
        {
            if (!pad.Shape[k].IsFixed)
            {
                // a variable axis is never padded; the slice must take it whole too
                if (!Whole(pad.Shape[k], starts[k], stops[k])) return null;
                continue;
            }
            int start = starts[k], stop = stops[k] == -1 ? pad.Shape[k].Size : stops[k];
            int lo = before[k], hi = before[k] + inner[k].Size;
            if (stop <= lo || start >= hi) return b.Const(0, slice.Span, slice.Shape);
            exact &= start == lo && stop == hi;
        }
        return exact ? pad.Inputs[0] : null;
    }

    /// <summary>A reshape that merges the one axis <paramref name="slice"/> cuts with the (whole, fixed) axes after it:
    /// the same elements as a slice of the source reshaped alike (a time step of [n, t, f], x.[*, i, *] reshaped to
    /// [n, f], is columns i·f..(i+1)·f − 1 of x as [n, t·f]), so the fused engine reads them in place (a block of
    /// every row) instead of copying the step out first.</summary>
    public static Node? ReshapeOfSlice(GraphBuilder b, Node reshape, Node slice)
    {
        var x = slice.Inputs[0];
        int k = CutAxis(slice);
        if (k < 0) return null;
        int rank = x.Shape.Rank;
        var (starts, stops) = slice.Attrs.Slice!;
        long inner = 1;
        for (int i = k + 1; i < rank; i++)
        {
            if (!x.Shape[i].IsFixed) return null;
            inner *= x.Shape[i].Size;
        }
        if (!x.Shape[k].IsFixed || inner * x.Shape[k].Size > int.MaxValue) return null;
        var merged = new Dim[k + 1];
        for (int i = 0; i < k; i++) merged[i] = x.Shape[i];
        int stop = stops[k] == -1 ? x.Shape[k].Size : stops[k];
        merged[k] = Dim.Of((stop - starts[k]) * (int)inner);
        if (!reshape.Shape.Equals(new Shape(merged))) return null;
        merged[k] = Dim.Of(x.Shape[k].Size * (int)inner);
        var from = new int[k + 1];
        var to = Enumerable.Repeat(-1, k + 1).ToArray();
        from[k] = starts[k] * (int)inner;
        to[k] = stop * (int)inner;
        return b.Slice(b.Reshape(x, new Shape(merged), reshape.Span), from, to, reshape.Span);
    }

    /// <summary>The one axis a slice cuts (every other axis whole), or -1 (none, or several).</summary>
    public static int CutAxis(Node slice)
    {
        var (starts, stops) = slice.Attrs.Slice!;
        var shape = slice.Inputs[0].Shape;
        int axis = -1;
        for (int i = 0; i < shape.Rank; i++)
        {
            if (Whole(shape[i], starts[i], stops[i])) continue;
            if (axis >= 0) return -1;
            axis = i;
        }
        return axis;
    }

    private static bool Whole(Dim d, int start, int stop) =>
        start == 0 && (stop == -1 || (d.IsFixed && stop == d.Size));
}
