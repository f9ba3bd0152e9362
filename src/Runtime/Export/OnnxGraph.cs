using Nn.Runtime.IR;

namespace Nn.Runtime.Export;

/// <summary>
/// The ONNX graph being written: its nodes, initializers and fresh value names, with helpers for the constants and
/// shape tensors the op table needs. Symbolic dimensions (the batch axis <c>n</c>) stay symbolic: a shape holding
/// one is computed at run time from the graph input that declares it (<c>Shape</c> with <c>start</c>/<c>end</c>).
/// </summary>
internal sealed class OnnxGraph(int opset)
{
    private readonly List<ProtoMessage> _nodes = [];
    private readonly List<ProtoMessage> _initializers = [];
    private readonly Dictionary<string, (string Input, int Axis)> _symbols = [];
    private readonly Dictionary<string, string> _symbolTensors = [];
    private int _fresh;

    /// <summary>The opset the model declares (some ops take attributes or inputs by version).</summary>
    public int Opset { get; } = opset;

    public IReadOnlyList<ProtoMessage> Nodes => _nodes;
    public IReadOnlyList<ProtoMessage> Initializers => _initializers;

    /// <summary>Records that the graph input <paramref name="input"/> carries its shape's symbolic
    /// dimensions.</summary>
    public void DeclareSymbols(string input, Shape shape)
    {
        for (int axis = 0; axis < shape.Rank; axis++)
            if (!shape[axis].IsFixed) _symbols.TryAdd(shape[axis].Symbol!, (input, axis));
    }

    public string Fresh(string stem) => $"{stem}_{_fresh++}";

    /// <summary>NodeProto { input = 1; output = 2; name = 3; op_type = 4; attribute = 5; doc_string = 6 }; returns
    /// the output's name.</summary>
    public string Node(string opType, IReadOnlyList<string> inputs, params OnnxAttr[] attrs) =>
        NodeTo(Fresh(opType.ToLowerInvariant()), opType, inputs, null, attrs);

    public string NodeTo(string output, string opType, IReadOnlyList<string> inputs, string? doc,
                         params OnnxAttr[] attrs)
    {
        var m = new ProtoMessage();
        foreach (var i in inputs) m.String(1, i);
        m.String(2, output).String(3, output).String(4, opType);
        foreach (var a in attrs) m.Message(5, a.ToProto());
        if (doc is not null) m.String(6, doc);
        _nodes.Add(m);
        return output;
    }

    public void Initializer(ProtoMessage tensor) => _initializers.Add(tensor);

    public string Floats(int[] dims, float[] data, string? name = null)
    {
        name ??= Fresh("const");
        _initializers.Add(Onnx.FloatTensor(name, dims, data));
        return name;
    }

    public string Ints(params long[] data)
    {
        var name = Fresh("ints");
        _initializers.Add(Onnx.Int64Tensor(name, [data.Length], data));
        return name;
    }

    /// <summary>A 1-D int64 tensor holding <paramref name="shape"/>: a constant when every dimension is fixed,
    /// else a Concat of constants and slices of the graph inputs' shapes.</summary>
    public string ShapeTensor(Shape shape)
    {
        if (shape.IsFixed) return Ints(shape.Dims.ToArray().Select(d => (long)d.Size).ToArray());
        var parts = new List<string>();
        foreach (var d in shape.Dims.ToArray())
            parts.Add(d.IsFixed ? Ints(d.Size) : Symbol(d.Symbol!));
        return Node("Concat", parts, new OnnxAttr.I("axis", 0));
    }

    private string Symbol(string symbol)
    {
        if (_symbolTensors.TryGetValue(symbol, out var t)) return t;
        if (!_symbols.TryGetValue(symbol, out var at))
            throw new InvalidOperationException($"the dimension `{symbol}` is not an input's");
        t = Node("Shape", [at.Input], new OnnxAttr.I("start", at.Axis), new OnnxAttr.I("end", at.Axis + 1));
        _symbolTensors[symbol] = t;
        return t;
    }

    /// <summary>A float value cast from a boolean.</summary>
    public string ToFloat(string boolean) => Node("Cast", [boolean], new OnnxAttr.I("to", Onnx.Float));

    /// <summary>A float value cast from an int64 (an arg-max's index).</summary>
    public string ToFloatFrom(string int64) => ToFloat(int64);

    /// <summary>A scalar float constant.</summary>
    public string Scalar(double v) => Floats([], [(float)v]);

    /// <summary>A reduction over <paramref name="axes"/> (all when empty): the axes are an input from opset 18
    /// (ReduceSum from 13), an attribute before.</summary>
    public string Reduce(string op, string x, int[] axes, bool keepDims)
    {
        var keep = new OnnxAttr.I("keepdims", keepDims ? 1 : 0);
        bool axesInput = op == "ReduceSum" || Opset >= 18;
        if (axes.Length == 0) return Node(op, [x], keep);
        var longs = axes.Select(a => (long)a).ToArray();
        return axesInput ? Node(op, [x, Ints(longs)], keep) : Node(op, [x], keep, new OnnxAttr.Ints("axes", longs));
    }
}
