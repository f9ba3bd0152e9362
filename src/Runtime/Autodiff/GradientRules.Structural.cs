using Nn.Runtime.IR;

namespace Nn.Runtime.Autodiff;

/// <summary>Rules for linear algebra, layout, reductions, normalised exponentials, convolution and pooling
/// (including the gradient ops themselves, so common nets can be differentiated twice).</summary>
public static partial class GradientRules
{
    private static Node? Structural(Vjp c, int i)
    {
        Node g = c.G, y = c.Y;
        var a = c.A;
        switch (y.Op)
        {
            // a [.., m, k] @ b: da = g @ bᵀ; db = aᵀ @ g (a batched product when b is shared; the walker sums the batch axes)
            case OpKind.MatMul:
                return i == 0 ? c.B.MatMul(g, c.B.Transpose(c.X(1), c.S), c.S) : c.B.MatMul(c.B.Transpose(c.X(0), c.S), g, c.S);
            case OpKind.Transpose:
                {
                    var inverse = new int[a.Ints.Length];
                    for (int k = 0; k < inverse.Length; k++) inverse[a.Ints[k]] = k;
                    return c.B.Transpose(g, c.S, inverse);
                }
            case OpKind.Reshape: return c.B.Reshape(g, c.X(0).Shape, c.S);
            case OpKind.Broadcast: return g;
            case OpKind.Concat: return ConcatPart(c, i);
            case OpKind.Slice:
                {
                    var x = c.X(0).Shape;
                    int r = x.Rank;
                    var after = Enumerable.Range(0, r).Select(k => a.Ints[r + k] == -1 ? 0 : x[k].Size - a.Ints[r + k]).ToArray();
                    return c.B.Pad(g, a.Ints[..r], after, c.S);
                }
            case OpKind.Pad:
                {
                    var x = c.X(0).Shape;
                    int r = x.Rank;
                    var stops = Enumerable.Range(0, r).Select(k => x[k].IsFixed ? a.Ints[k] + x[k].Size : -1).ToArray();
                    return c.B.Slice(g, a.Ints[..r], stops, c.S);
                }
            case OpKind.Sum: return SpreadBack(c, g);
            case OpKind.Mean:
                {
                    var x = c.X(0);
                    var spread = SpreadBack(c, g);
                    var reduced = a.Axes.Length == 0 ? Enumerable.Range(0, x.Shape.Rank).ToArray() : a.Axes;
                    if (reduced.All(k => x.Shape[k].IsFixed))
                        return c.Mul(spread, c.C(1.0 / reduced.Aggregate(1L, (p, k) => p * x.Shape[k].Size)));
                    // a variable count (mean over the batch): count it at run time
                    return c.Div(spread, c.SumKeep(c.C(1, x.Shape), a.Axes));
                }
            case OpKind.ReduceMax:
                {
                    // the adjoint is shared equally among tied maxima
                    var x = c.X(0);
                    var mask = c.Bin(OpKind.Equal, x, c.B.Reshape(y, c.KeptShape(x), c.S));
                    return c.Mul(c.Div(mask, c.SumKeep(mask, a.Axes)), c.B.Reshape(g, c.KeptShape(x), c.S));
                }
            case OpKind.Softmax:
                return c.Mul(y, c.Sub(g, c.SumKeep(c.Mul(g, y), a.Axes)));
            case OpKind.LogSoftmax:
                return c.Sub(g, c.Mul(c.U(OpKind.Exp, y), c.SumKeep(g, a.Axes)));

            // <conv(x, k), dy> = <x, gradInput(dy, k)> = <k, gradKernel(x, dy)>: each op's adjoints are the other two
            case OpKind.Conv2d:
                return i == 0 ? c.Op(OpKind.Conv2dGradInput, new OpAttrs { Ints = a.Ints, Target = c.X(0).Shape }, g, c.X(1))
                              : c.Op(OpKind.Conv2dGradKernel, new OpAttrs { Ints = a.Ints, Target = c.X(1).Shape }, c.X(0), g);
            case OpKind.Conv2dGradInput: // (dy, k) → x-shaped
                return i == 0 ? c.Op(OpKind.Conv2d, new OpAttrs { Ints = a.Ints }, g, c.X(1))
                              : c.Op(OpKind.Conv2dGradKernel, new OpAttrs { Ints = a.Ints, Target = c.X(1).Shape }, g, c.X(0));
            case OpKind.Conv2dGradKernel: // (x, dy) → k-shaped
                return i == 0 ? c.Op(OpKind.Conv2dGradInput, new OpAttrs { Ints = a.Ints, Target = c.X(0).Shape }, c.X(1), g)
                              : c.Op(OpKind.Conv2d, new OpAttrs { Ints = a.Ints }, c.X(0), g);

            case OpKind.MaxPool2d: return c.Op(OpKind.MaxPool2dGrad, new OpAttrs { Ints = a.Ints }, c.X(0), g);
            case OpKind.AvgPool2d: return c.Op(OpKind.AvgPool2dGrad, new OpAttrs { Ints = a.Ints, Target = c.X(0).Shape }, g);
            case OpKind.AvgPool2dGrad: return c.Op(OpKind.AvgPool2d, new OpAttrs { Ints = a.Ints }, g);
            case OpKind.MaxPool2dGrad:
                {
                    if (i == 0) return null; // piecewise constant in x
                    // gather g at each window's arg-max: with disjoint windows, sum(window of g·argmaxMask) = area·avgPool(g·mask)
                    // (avgPool divides by the window's unpadded cells, so padding breaks the identity too)
                    int size = a.Ints[0], stride = a.Ints[1];
                    if (stride < size)
                        throw Throw.MissingGradient(y, " in its pooled gradient when pooling windows overlap");
                    if (a.Ints[2..].Any(p => p != 0))
                        throw Throw.MissingGradient(y, " in its pooled gradient when pooling pads the image");
                    var mask = c.Op(OpKind.MaxPool2dGrad, a, c.X(0), c.C(1, c.X(1).Shape));
                    return c.Mul(c.Op(OpKind.AvgPool2d, new OpAttrs { Ints = a.Ints }, c.Mul(g, mask)), c.C(size * size));
                }

            case OpKind.ArgMax or OpKind.OneHot or OpKind.DropoutMask: return null;
            default: throw Throw.MissingGradient(y);
        }
    }

    /// <summary>The adjoint of a reduction, reshaped to keep the reduced axes and broadcast back over them.</summary>
    private static Node SpreadBack(Vjp c, Node g)
    {
        var x = c.X(0);
        return c.B.Broadcast(c.B.Reshape(g, c.KeptShape(x), c.S), x.Shape, c.S);
    }

    /// <summary>Operand i of a concat receives its slice of the adjoint.</summary>
    private static Node ConcatPart(Vjp c, int i)
    {
        var shape = c.Y.Shape;
        int axis = c.A.Axes.Length > 0 ? ShapeRules.Axis(c.A.Axes[0], shape.Rank, "concat") : 0;
        int offset = c.Y.Inputs.Take(i).Sum(x => x.Shape[axis].Size);
        var starts = new int[shape.Rank];
        var stops = Enumerable.Repeat(-1, shape.Rank).ToArray();
        starts[axis] = offset;
        stops[axis] = offset + c.X(i).Shape[axis].Size;
        return c.B.Slice(c.G, starts, stops, c.S);
    }
}
