using Nn.Runtime.Data;
using Nn.Runtime.IR;

namespace Nn.Runtime.Export;

/// <summary>Stable codes of the ONNX export.</summary>
internal static class ExportCodes
{
    /// <summary>An op of the inference graph has no ONNX export.</summary>
    public const string OpNotExportable = "NN0720";
    /// <summary>An opset outside the supported range.</summary>
    public const string Opset = "NN0721";
}

/// <summary>
/// Writes an inference graph (a <see cref="Training.StepGraphs.Predict"/> graph: evaluation mode, so no dropout and
/// batch norm on its running statistics) as an ONNX model: parameters and states (running statistics, standardize's
/// mean and std) become initializers named by their paths, the inputs keep their names and symbolic batch axis
/// (<c>n</c>), the output is <c>output</c>; every other node goes through <see cref="OnnxOps"/>.
/// </summary>
internal static class OnnxExport
{
    /// <summary>The opsets the exporter writes.</summary>
    public const int MinOpset = 17, MaxOpset = 21;

    /// <summary>The model's bytes.</summary>
    /// <param name="graph">an inference graph with the output <c>output</c></param>
    /// <param name="values">every Param's and State's value, by name</param>
    /// <param name="inputOrder">the graph inputs' names in declaration order</param>
    /// <param name="name">the graph's name (the network's)</param>
    /// <param name="opset">the ONNX opset, <see cref="MinOpset"/>..<see cref="MaxOpset"/></param>
    /// <param name="metadata">the model's metadata_props (key, value), in order: the pre-processing the inputs
    /// expect (<see cref="TableMetadataKey"/>), the class names</param>
    /// <param name="doc">the model's doc_string, or null</param>
    public static byte[] ToBytes(Graph graph, IReadOnlyDictionary<string, HostTensor> values,
                                 IReadOnlyList<string> inputOrder, string name, int opset,
                                 IReadOnlyList<KeyValuePair<string, string>>? metadata = null, string? doc = null)
    {
        if (opset < MinOpset || opset > MaxOpset)
            throw new NnRuntimeException(ExportCodes.Opset, SourceSpan.None,
                $"--opset {opset} is not supported: the exporter writes opsets {MinOpset} to {MaxOpset}");
        var g = new OnnxGraph(opset);
        var inputs = graph.Inputs.ToDictionary(n => n.Name!);
        var order = inputOrder.Where(inputs.ContainsKey).Concat(inputs.Keys.Except(inputOrder)).ToList();
        foreach (var i in order) g.DeclareSymbols(i, inputs[i].Shape);
        var names = new Dictionary<Node, string>(ReferenceEqualityComparer.Instance);
        foreach (var n in graph.Nodes)
        {
            switch (n.Op)
            {
                case OpKind.Input:
                    names[n] = n.Name!;
                    continue;
                case OpKind.Param or OpKind.State:
                    var t = values[n.Name!];
                    g.Initializer(Onnx.FloatTensor(n.Name!, t.Shape, t.Data));
                    names[n] = n.Name!;
                    continue;
                case OpKind.Const:
                    names[n] = Const(g, n);
                    continue;
            }
            var operands = n.Inputs.Select(i => names[i]).ToArray();
            names[n] = OnnxOps.Emit(g, n, operands) ?? throw new NnRuntimeException(ExportCodes.OpNotExportable,
                n.Span, $"`{n.Op}` cannot be exported to ONNX (it is a gradient or training-only op)");
        }
        var output = graph.Output("output");
        g.NodeTo("output", "Identity", [names[output]], null);
        return Model(g, name, order.Select(i => Onnx.ValueInfo(i, inputs[i].Shape)),
            Onnx.ValueInfo("output", output.Shape), opset, metadata ?? [], doc);
    }

    /// <summary>The metadata_props key of a table's encoding: the JSON of the checkpoint's <c>table</c> record
    /// (<see cref="TableEncoding.ToJson"/>: per feature column its kind, a text column's sorted vocabulary, the fill of
    /// empty cells), which the caller applies before feeding the model.</summary>
    public const string TableMetadataKey = "nn.table";

    /// <summary>The metadata_props key of a classifier's class names, one per line, in output order.</summary>
    public const string ClassesMetadataKey = "nn.classes";

    /// <summary>The pre-processing a table's rows need before the model, in words (the model's doc_string).</summary>
    public static string Describe(TableEncoding table) =>
        "The input's features, in order, are the table's columns encoded as `nn` encoded them in training "
        + $"(metadata_props `{TableMetadataKey}` holds them as JSON): "
        + string.Join("; ", table.Columns.Select(c => c.Kind switch
        {
            ColumnKind.Categorical => $"`{c.Name}` one-hot over [{string.Join(", ", c.Values)}] ({c.Width} columns, "
                                      + "all 0 for an unknown or empty value)",
            ColumnKind.Indexed => $"`{c.Name}` the 1-based position in [{string.Join(", ", c.Values)}], 0 unknown",
            _ => $"`{c.Name}` as a number" + (c.Fill is float f ? $" (empty: {f.ToString("R",
                                                   System.Globalization.CultureInfo.InvariantCulture)})" : ""),
        })) + ".";

    /// <summary>Writes the model to <paramref name="path"/> atomically (NN0706 when it cannot be written).</summary>
    public static void Write(string path, byte[] model) => AtomicFile.Write(path, s => s.Write(model));

    private static string Const(OnnxGraph g, Node n)
    {
        float v = (float)n.Attrs.Value;
        if (n.Shape.IsFixed)
        {
            int[] dims = n.Shape.Dims.ToArray().Select(d => d.Size).ToArray();
            return g.Floats(dims, Enumerable.Repeat(v, (int)n.Shape.FixedCount).ToArray());
        }
        return g.Node("ConstantOfShape", [g.ShapeTensor(n.Shape)],
            new OnnxAttr.Tensor("value", Onnx.FloatTensor("", [1], [v])));
    }

    /// <summary>ModelProto { ir_version = 1; producer_name = 2; producer_version = 3; doc_string = 6; graph = 7;
    /// opset_import = 8; metadata_props = 14 }, GraphProto { node = 1; name = 2; initializer = 5; input = 11;
    /// output = 12 }, StringStringEntryProto { key = 1; value = 2 }.</summary>
    private static byte[] Model(OnnxGraph g, string name, IEnumerable<ProtoMessage> inputs, ProtoMessage output,
                                int opset, IReadOnlyList<KeyValuePair<string, string>> metadata, string? doc)
    {
        var graph = new ProtoMessage();
        foreach (var n in g.Nodes) graph.Message(1, n);
        graph.String(2, name);
        foreach (var t in g.Initializers) graph.Message(5, t);
        foreach (var i in inputs) graph.Message(11, i);
        graph.Message(12, output);
        // IR version 8 goes with opsets 17-18, 9 with 19-20, 10 with 21 (onnx/docs/Versioning.md)
        long ir = opset <= 18 ? 8 : opset <= 20 ? 9 : 10;
        var model = new ProtoMessage().Int(1, ir).String(2, "nn").String(3, "1");
        if (doc is not null) model.String(6, doc);
        model.Message(7, graph).Message(8, Onnx.OpsetId(opset));
        foreach (var (key, value) in metadata) model.Message(14, new ProtoMessage().String(1, key).String(2, value));
        return model.ToArray();
    }
}
