namespace Nn.Runtime.IR;

/// <summary>The result shape of any op from its operand shapes and attributes; one switch over <see cref="OpKind"/>,
/// shared by <see cref="GraphBuilder"/> and the verifier.</summary>
public static class Infer
{
    /// <summary>The number of operands each op takes (-1: one or more).</summary>
    public static int Arity(OpKind op) => op switch
    {
        OpKind.Input or OpKind.Param or OpKind.State or OpKind.Const => 0,
        OpKind.Add or OpKind.Sub or OpKind.Mul or OpKind.Div or OpKind.Pow or OpKind.Max or OpKind.Min
            or OpKind.GreaterEqual or OpKind.Equal or OpKind.MatMul or OpKind.Conv2d or OpKind.Conv2dGradInput
            or OpKind.Conv2dGradKernel or OpKind.MaxPool2dGrad => 2,
        OpKind.Where => 3,
        OpKind.Concat => -1,
        _ => 1,
    };

    /// <summary>True for ops applied independently to each element (with broadcasting for several operands).</summary>
    public static bool IsElementwise(OpKind op) => op is >= OpKind.Neg and <= OpKind.Where;

    /// <summary>The shape of <paramref name="op"/> applied to operands of shapes <paramref name="xs"/>.</summary>
    public static Shape Shape(OpKind op, IReadOnlyList<Shape> xs, OpAttrs a, Shape? sourceShape = null)
    {
        int arity = Arity(op);
        if (arity >= 0 && xs.Count != arity) throw new ShapeException("NN0208", $"`{op}` takes {arity} operands, got {xs.Count}");
        if (arity < 0 && xs.Count == 0) throw new ShapeException("NN0208", $"`{op}` takes at least one operand");
        switch (op)
        {
            case OpKind.Input or OpKind.Param or OpKind.State or OpKind.Const:
                return sourceShape ?? a.Target ?? IR.Shape.Scalar;
            case >= OpKind.Neg and <= OpKind.Step:
                return xs[0];
            case >= OpKind.Add and <= OpKind.Equal:
                return ShapeRules.Broadcast(xs[0], xs[1], $"the operands of `{Symbol(op)}`");
            case OpKind.Where:
                return ShapeRules.Broadcast(ShapeRules.Broadcast(xs[0], xs[1]), xs[2]);
            case OpKind.MatMul:
                return ShapeRules.MatMul(xs[0], xs[1]);
            case OpKind.Transpose:
                return ShapeRules.Transpose(xs[0], a.Ints);
            case OpKind.Reshape:
                return ShapeRules.Reshape(xs[0], Need(a.Target, op));
            case OpKind.Broadcast:
                var t = Need(a.Target, op);
                if (!ShapeRules.BroadcastsTo(xs[0], t))
                    throw new ShapeException("NN0201", $"{xs[0]} cannot be broadcast to {t}");
                return t;
            case OpKind.Concat:
                return ShapeRules.Concat(xs, a.Axes.Length > 0 ? a.Axes[0] : 0);
            case OpKind.Slice:
                return ShapeRules.Slice(xs[0], a.Ints[..xs[0].Rank], a.Ints[xs[0].Rank..]);
            case OpKind.Pad:
                {
                    var x = xs[0];
                    var dims = new Dim[x.Rank];
                    for (int i = 0; i < x.Rank; i++)
                    {
                        int lo = a.Ints[i], hi = a.Ints[x.Rank + i];
                        if (lo == 0 && hi == 0) { dims[i] = x[i]; continue; }
                        if (!x[i].IsFixed) throw new ShapeException("NN0208", $"cannot pad the variable axis {i} of {x}");
                        dims[i] = Dim.Of(x[i].Size + lo + hi);
                    }
                    return new Shape(dims);
                }
            case OpKind.Sum or OpKind.Mean or OpKind.ReduceMax:
                return ShapeRules.Reduce(xs[0], a.Axes, a.KeepDims, Word(op));
            case OpKind.ArgMax:
                return ShapeRules.Reduce(xs[0], [a.Axes.Length > 0 ? a.Axes[0] : -1], true, "argmax");
            case OpKind.Softmax or OpKind.LogSoftmax:
                ShapeRules.Axis(a.Axes.Length > 0 ? a.Axes[0] : -1, xs[0].Rank, Word(op));
                return xs[0];
            case OpKind.Conv2d:
                return ShapeRules.Conv2d(xs[0], xs[1], a.Ints);
            case OpKind.Conv2dGradInput or OpKind.Conv2dGradKernel or OpKind.AvgPool2dGrad:
                return Need(a.Target, op);
            case OpKind.MaxPool2d or OpKind.AvgPool2d:
                return ShapeRules.Pool2d(xs[0], a.Ints, Word(op));
            case OpKind.MaxPool2dGrad:
                return xs[0];
            case OpKind.DropoutMask:
                if (a.Value < 0 || a.Value >= 1) throw new ShapeException("NN0208", $"dropout probability must be in [0, 1), got {a.Value}");
                return xs[0];
            case OpKind.OneHot:
                {
                    var x = xs[0];
                    if (x.Rank == 0) throw new ShapeException("NN0202", "one-hot labels need at least one axis");
                    var dims = x.ToArray();
                    if (dims[^1].IsOne) dims[^1] = Dim.Of(a.Ints[0]);
                    else dims = [.. dims, Dim.Of(a.Ints[0])];
                    return new Shape(dims);
                }
            default:
                throw new InvalidOperationException($"no shape rule for {op}");
        }
    }

    /// <summary>An op's name as the language spells its built-in (`maxPool2d`, `reduceMax`), for messages.</summary>
    public static string Word(OpKind op) => GraphPrinter.OpName(op);

    /// <summary>The operator a binary elementwise op is written with (`+`, `**`, `max`), for messages.</summary>
    public static string Symbol(OpKind op) => op switch
    {
        OpKind.Add => "+", OpKind.Sub => "-", OpKind.Mul => "*", OpKind.Div => "/", OpKind.Pow => "**",
        OpKind.GreaterEqual => ">=", OpKind.Equal => "=",
        _ => Word(op),
    };

    private static Shape Need(Shape? s, OpKind op) => s ?? throw new ShapeException("NN0208", $"`{op}` needs a target shape");
}
