using Nn.Runtime.IR;

namespace Nn.Runtime.Autodiff;

/// <summary>
/// Adjoints that are zero-padded pieces of one value: the gradient of slicing is a <see cref="OpKind.Pad"/>, so a
/// value cut into pieces (the time steps of <c>unstack</c>, the gates of an LSTM's pre-activations) gets one padded
/// full-size adjoint per piece. Summed one by one they cost a full-size add per piece (for 50 steps of
/// [64, 50, 128], 50 pads and 49 adds of 410,000 floats each, quadratic in the steps); joined, the pieces that meet
/// end to end along the padded axis are one <see cref="OpKind.Concat"/>, padded once. The values are the same (the
/// pieces do not overlap, so each element is one piece's or zero); only the adds of zeros are gone.
/// </summary>
internal static class PaddedPieces
{
    /// <summary>The one axis a Pad node pads (every other axis neither before nor after), or -1.</summary>
    public static int Axis(Node n)
    {
        if (n.Op != OpKind.Pad) return -1;
        var (before, after) = n.Attrs.Pad!;
        int axis = -1;
        for (int i = 0; i < before.Length; i++)
        {
            if (before[i] == 0 && after[i] == 0) continue;
            if (axis >= 0) return -1;
            axis = i;
        }
        return axis;
    }

    /// <summary>The sum of <paramref name="pads"/> (Pad nodes of the same shape, each padding one axis), added to
    /// <paramref name="sum"/> (null: nothing). Pieces along the same axis that meet end to end, and do not overlap any
    /// other piece on it, are concatenated in order and padded once; a piece that overlaps another is added as it
    /// is, in the order given.</summary>
    public static Node Join(GraphBuilder b, Node? sum, IReadOnlyList<(Node Pad, SourceSpan Span)> pads)
    {
        Node Add(Node? acc, Node term, SourceSpan span) => acc is null ? term : b.Binary(OpKind.Add, acc, term, span);
        var joined = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        var runs = new List<(int Start, Node Node, SourceSpan Span)>();
        foreach (var group in pads.GroupBy(p => Axis(p.Pad)))
        {
            int axis = group.Key;
            var sorted = group.OrderBy(p => p.Pad.Attrs.Pad!.Before[axis]).ToList();
            if (sorted.Count < 2 || Overlap(sorted, axis)) continue;
            int size = sorted[0].Pad.Shape[axis].Size;
            for (int i = 0; i < sorted.Count;)
            {
                int j = i + 1;
                while (j < sorted.Count && Start(sorted[j].Pad, axis) == End(sorted[j - 1].Pad, axis)) j++;
                if (j - i > 1)
                {
                    var pieces = sorted.Skip(i).Take(j - i).ToList();
                    foreach (var p in pieces) joined.Add(p.Pad);
                    var span = pieces[0].Span;
                    Node run = b.Concat(pieces.Select(p => p.Pad.Inputs[0]).ToList(), axis, span);
                    int start = Start(pieces[0].Pad, axis), end = End(pieces[^1].Pad, axis);
                    if (start > 0 || end < size)
                    {
                        var before = new int[run.Shape.Rank];
                        var after = new int[run.Shape.Rank];
                        before[axis] = start;
                        after[axis] = size - end;
                        run = b.Pad(run, before, after, span);
                    }
                    runs.Add((start, run, span));
                }
                i = j;
            }
        }
        // the pieces left alone keep their order, then the joined runs in the order of their place on the axis
        foreach (var (pad, span) in pads)
            if (!joined.Contains(pad)) sum = Add(sum, pad, span);
        foreach (var (_, run, span) in runs.OrderBy(r => r.Start)) sum = Add(sum, run, span);
        return sum!;
    }

    private static int Start(Node pad, int axis) => pad.Attrs.Pad!.Before[axis];

    private static int End(Node pad, int axis) => pad.Attrs.Pad!.Before[axis] + pad.Inputs[0].Shape[axis].Size;

    private static bool Overlap(List<(Node Pad, SourceSpan Span)> sorted, int axis)
    {
        for (int i = 1; i < sorted.Count; i++)
            if (Start(sorted[i].Pad, axis) < End(sorted[i - 1].Pad, axis)) return true;
        return false;
    }
}
