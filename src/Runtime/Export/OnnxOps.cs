using Nn.Runtime.IR;

namespace Nn.Runtime.Export;

/// <summary>
/// One op, one place: how each <see cref="OpKind"/> of an inference graph becomes ONNX nodes (opset 17 and later).
/// Ops without an ONNX counterpart are composed (gelu's tanh form, silu, step); images stay NHWC in `nn` and are
/// transposed to ONNX's NCHW around Conv and the pools. The switch names every op (CS8509): a new op does not
/// compile until it says how it exports. <c>null</c> means the op cannot be exported (the gradients and training-only
/// ops, which an inference graph never holds); the exporter reports it as NN0720.
/// </summary>
internal static class OnnxOps
{
    private const long ToEnd = long.MaxValue;

    /// <summary>The ONNX value computing <paramref name="n"/> from its operands' values <paramref name="x"/>, or
    /// null when the op has no export.</summary>
    public static string? Emit(OnnxGraph g, Node n, string[] x)
    {
        var a = n.Attrs;
        string Un(string op) => g.Node(op, [x[0]]);
        string Bin(string op) => g.Node(op, [x[0], x[1]]);
        int Axis0(int fallback) => a.Axes.Length > 0 ? a.Axes[0] : fallback;
        return n.Op switch
        {
            OpKind.Input or OpKind.Param or OpKind.State or OpKind.Const =>
                throw new InvalidOperationException("sources are the exporter's"),
            OpKind.Neg => Un("Neg"),
            OpKind.Exp => Un("Exp"),
            OpKind.Log => Un("Log"),
            OpKind.Sqrt => Un("Sqrt"),
            OpKind.Abs => Un("Abs"),
            OpKind.Sign => Un("Sign"),
            OpKind.Tanh => Un("Tanh"),
            OpKind.Sigmoid => Un("Sigmoid"),
            OpKind.Relu => Un("Relu"),
            OpKind.LeakyRelu => g.Node("LeakyRelu", [x[0]], new OnnxAttr.F("alpha", (float)a.Value)),
            OpKind.Elu => g.Node("Elu", [x[0]], new OnnxAttr.F("alpha", (float)a.Value)),
            OpKind.Gelu => Gelu(g, x[0]),
            OpKind.Softplus => Un("Softplus"),
            OpKind.Silu => g.Node("Mul", [x[0], Un("Sigmoid")]),
            OpKind.HardSigmoid => g.Node("HardSigmoid", [x[0]],
                new OnnxAttr.F("alpha", 1f / 6f), new OnnxAttr.F("beta", 0.5f)),
            OpKind.LogSigmoid => g.Node("Neg", [g.Node("Softplus", [Un("Neg")])]),
            OpKind.Sin => Un("Sin"),
            OpKind.Cos => Un("Cos"),
            OpKind.Square => g.Node("Mul", [x[0], x[0]]),
            OpKind.Reciprocal => Un("Reciprocal"),
            OpKind.Step => g.ToFloat(g.Node("Greater", [x[0], g.Scalar(0)])),
            OpKind.Add => Bin("Add"),
            OpKind.Sub => Bin("Sub"),
            OpKind.Mul => Bin("Mul"),
            OpKind.Div => Bin("Div"),
            OpKind.Pow => Bin("Pow"),
            OpKind.Max => Bin("Max"),
            OpKind.Min => Bin("Min"),
            OpKind.GreaterEqual => g.ToFloat(Bin("GreaterOrEqual")),
            OpKind.Equal => g.ToFloat(Bin("Equal")),
            OpKind.Where => g.Node("Where", [g.Node("Not", [g.Node("Equal", [x[0], g.Scalar(0)])]), x[1], x[2]]),
            OpKind.MatMul => Bin("MatMul"),
            // a scalar's transpose has no axes, and an INTS attribute cannot be empty (the ONNX checker)
            OpKind.Transpose => a.Perm!.Length == 0
                ? Un("Identity")
                : g.Node("Transpose", [x[0]], Longs("perm", a.Perm)),
            OpKind.Reshape => g.Node("Reshape", [x[0], g.ShapeTensor(a.Target!)]),
            OpKind.Broadcast => g.Node("Expand", [x[0], g.ShapeTensor(a.Target!)]),
            OpKind.Concat => g.Node("Concat", x, new OnnxAttr.I("axis", a.Axes[0])),
            OpKind.Slice => Slice(g, x[0], n.Inputs[0].Shape, a.Slice!),
            OpKind.Pad => g.Node("Pad", [x[0], g.Ints([.. a.Pad!.Before.Select(v => (long)v),
                                                      .. a.Pad.After.Select(v => (long)v)])]),
            OpKind.Gather => g.Node("Gather", [x[0], g.Node("Cast", [x[1]], new OnnxAttr.I("to", Onnx.Int64))],
                new OnnxAttr.I("axis", 0)),
            OpKind.Sum => g.Reduce("ReduceSum", x[0], a.Axes, a.KeepDims),
            OpKind.Mean => g.Reduce("ReduceMean", x[0], a.Axes, a.KeepDims),
            OpKind.ReduceMax => g.Reduce("ReduceMax", x[0], a.Axes, a.KeepDims),
            OpKind.ArgMax => g.ToFloatFrom(g.Node("ArgMax", [x[0]], new OnnxAttr.I("axis", Axis0(-1)),
                new OnnxAttr.I("keepdims", 1))),
            OpKind.Softmax => g.Node("Softmax", [x[0]], new OnnxAttr.I("axis", Axis0(-1))),
            OpKind.LogSoftmax => g.Node("LogSoftmax", [x[0]], new OnnxAttr.I("axis", Axis0(-1))),
            OpKind.Conv2d => Nhwc(g, g.Node("Conv", [Nchw(g, x[0]), g.Node("Transpose", [x[1]],
                    Longs("perm", [3, 2, 0, 1]))],
                Longs("strides", [a.Conv!.StrideH, a.Conv.StrideW]), Longs("pads", a.Conv.Pads.Flat))),
            OpKind.MaxPool2d => Nhwc(g, g.Node("MaxPool", [Nchw(g, x[0])], Window(a.Pool!))),
            OpKind.AvgPool2d => Nhwc(g, g.Node("AveragePool", [Nchw(g, x[0])],
                [.. Window(a.Pool!), new OnnxAttr.I("count_include_pad", 0)])),
            OpKind.OneHot => OneHot(g, n, x[0]),
            OpKind.ScatterAdd or OpKind.Conv2dGradInput or OpKind.Conv2dGradKernel or OpKind.MaxPool2dGrad
                or OpKind.AvgPool2dGrad or OpKind.DropoutMask or OpKind.RankSum => null,
        };
    }

    private static OnnxAttr Longs(string name, int[] v) => new OnnxAttr.Ints(name, v.Select(i => (long)i).ToArray());

    private static OnnxAttr[] Window(PoolAttrs p) =>
        [Longs("kernel_shape", [p.Size, p.Size]), Longs("strides", [p.Stride, p.Stride]), Longs("pads", p.Pads.Flat)];

    /// <summary>NHWC to NCHW; ONNX's pads [top, left, bottom, right] are `nn`'s order already.</summary>
    private static string Nchw(OnnxGraph g, string x) => g.Node("Transpose", [x], Longs("perm", [0, 3, 1, 2]));

    private static string Nhwc(OnnxGraph g, string x) => g.Node("Transpose", [x], Longs("perm", [0, 2, 3, 1]));

    /// <summary>0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))), as the runtime's definition (ONNX's Gelu takes the tanh
    /// form only from opset 20).</summary>
    private static string Gelu(OnnxGraph g, string x)
    {
        var cube = g.Node("Mul", [x, g.Node("Mul", [x, x])]);
        var inner = g.Node("Add", [x, g.Node("Mul", [cube, g.Scalar(0.044715)])]);
        var t = g.Node("Tanh", [g.Node("Mul", [inner, g.Scalar(Math.Sqrt(2.0 / Math.PI))])]);
        return g.Node("Mul", [g.Node("Mul", [x, g.Scalar(0.5)]), g.Node("Add", [t, g.Scalar(1)])]);
    }

    /// <summary>One-hot rows of the class indices: ONNX's OneHot appends the classes as a new last axis; a last axis
    /// of size 1 is replaced by them in `nn` (the runtime's shape rule), so the result is reshaped to the node's
    /// shape.</summary>
    private static string OneHot(OnnxGraph g, Node n, string x)
    {
        var ids = g.Node("Cast", [x], new OnnxAttr.I("to", Onnx.Int64));
        var rows = g.Node("OneHot", [ids, g.Ints(n.Attrs.Width!.Value), g.Floats([2], [0f, 1f])],
            new OnnxAttr.I("axis", -1));
        return n.Inputs[0].Shape[-1].IsOne ? g.Node("Reshape", [rows, g.ShapeTensor(n.Shape)]) : rows;
    }

    /// <summary>Slice with `nn`'s stop -1 meaning the end of the axis, over the axes it cuts only: an axis kept
    /// whole is left out, so that ONNX's shape inference keeps its (possibly symbolic) size.</summary>
    private static string Slice(OnnxGraph g, string x, Shape input, SliceAttrs s)
    {
        bool Whole(int i) => s.Starts[i] == 0 && (s.Stops[i] == -1 || input[i].IsFixed && s.Stops[i] == input[i].Size);
        var axes = Enumerable.Range(0, s.Starts.Length).Where(i => !Whole(i)).ToArray();
        if (axes.Length == 0) return g.Node("Identity", [x]);
        var ends = axes.Select(i => s.Stops[i] == -1 ? ToEnd : s.Stops[i]).ToArray();
        return g.Node("Slice", [x, g.Ints(axes.Select(i => (long)s.Starts[i]).ToArray()), g.Ints(ends),
                                g.Ints(axes.Select(i => (long)i).ToArray())]);
    }
}
