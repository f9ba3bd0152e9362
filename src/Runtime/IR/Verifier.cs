namespace Nn.Runtime.IR;

/// <summary>
/// Checks the invariants every graph must hold (JAX's <c>check_jaxpr</c>). Tests run it after every pass.
/// <list type="number">
/// <item>Node ids are their indices: <c>Nodes[i].Id == i</c>.</item>
/// <item>Every operand is a node of the same graph (the same object at its index) and comes earlier.</item>
/// <item>Every node has the number of operands <see cref="Infer.Arity"/> gives for its op.</item>
/// <item>Sources (Input, Param, State) have no operands, a non-empty name unique among all sources, and a shape;
///       Params and States have an initializer.</item>
/// <item>Every other node's shape equals <see cref="Infer.Shape"/> of its operands' shapes and attributes
///       (so attributes are well formed), and a Const's shape is its Target (or [] when it has none).</item>
/// <item>A gradient op's incoming gradient (dy) has the shape its forward op (conv2d, pooling) gives on its
///       Target.</item>
/// <item>Op-specific typed attributes are present and valid: conv and its gradients have strides ≥ 1 and paddings
///       ≥ 0, pooling a window and stride ≥ 1, one-hot a width ≥ 1, dropout a stream id, transpose, slice and pad
///       their permutation or bounds.</item>
/// <item>No two non-source nodes are equal (same op, operands and attributes): graphs are hash-consed.</item>
/// <item>Every dimension variable appears in the shape of some source, so running the graph can bind it.</item>
/// <item>Outputs have non-empty, unique names and are nodes of the graph.</item>
/// </list>
/// </summary>
internal static class Verifier
{
    /// <summary>Every broken invariant, one message each; empty when the graph is well formed.</summary>
    public static IReadOnlyList<string> Check(Graph graph)
    {
        var problems = new List<string>();
        var nodes = graph.Nodes;
        bool InGraph(Node n) => n.Id >= 0 && n.Id < nodes.Count && ReferenceEquals(nodes[n.Id], n);
        var names = new Dictionary<string, Node>();
        var seen = new Dictionary<string, Node>();
        var sourceSymbols = new HashSet<string>();
        foreach (var n in nodes.Where(n => n.Op is OpKind.Input or OpKind.Param or OpKind.State))
            sourceSymbols.UnionWith(n.Shape?.Symbols ?? []);

        for (int i = 0; i < nodes.Count; i++)
        {
            var n = nodes[i];
            string at = $"%{i} ({n.Op} at {n.Span})";
            if (n.Id != i) { problems.Add($"{at}: id is %{n.Id}, but the node is at index {i}"); continue; }
            bool operandsOk = true;
            foreach (var x in n.Inputs)
            {
                if (!InGraph(x)) { problems.Add($"{at}: operand {x} is not a node of this graph"); operandsOk = false; }
                else if (x.Id >= i) { problems.Add($"{at}: operand {x} does not come before it"); operandsOk = false; }
            }
            int arity = Infer.Arity(n.Op);
            if (arity >= 0 ? n.Inputs.Count != arity : n.Inputs.Count == 0)
            {
                problems.Add(
                    $"{at}: takes {(arity >= 0 ? arity.ToString() : "one or more")} operands, has {n.Inputs.Count}");
                continue;
            }
            if (n.Shape is null) { problems.Add($"{at}: has no shape"); continue; }
            if (n.Op is OpKind.Input or OpKind.Param or OpKind.State)
            {
                if (string.IsNullOrEmpty(n.Name)) problems.Add($"{at}: a source needs a name");
                else if (names.TryGetValue(n.Name, out var other))
                    problems.Add($"{at}: the name `{n.Name}` is already used by {other}");
                else names[n.Name] = n;
                if (n.Op != OpKind.Input && n.Attrs.Init is null) problems.Add($"{at}: `{n.Name}` has no initializer");
                continue;
            }
            foreach (var s in n.Shape.Symbols.Where(s => !sourceSymbols.Contains(s)))
                problems.Add(
                    $"{at}: the dimension variable `{s}` of {n.Shape} appears in no input, parameter or state");
            if (!operandsOk) continue;
            CheckAttrs(n, at, problems);
            try
            {
                var expected = Infer.Shape(n.Op, n.Inputs.Select(x => x.Shape).ToArray(), n.Attrs);
                if (!expected.Equals(n.Shape))
                    problems.Add($"{at}: shape is {n.Shape}, but its operands give {expected}");
                if (ForwardOfGradient(n) is (Shape dy, Shape want) && !dy.Equals(want))
                    problems.Add($"{at}: its incoming gradient has shape {dy}, "
                        + $"but the forward op it differentiates gives {want}");
            }
            catch (Exception e) when (e is ShapeException or IndexOutOfRangeException or ArgumentException)
            {
                problems.Add($"{at}: ill-formed: {e.Message}");
            }
            var key = $"{n.Op}({string.Join(",", n.Inputs.Select(x => x.Id))}){n.Attrs.Key}|{n.Shape}";
            if (seen.TryGetValue(key, out var twin)) problems.Add($"{at}: duplicates {twin} (graphs are hash-consed)");
            else seen[key] = n;
        }

        var outNames = new HashSet<string>();
        foreach (var (name, node) in graph.Outputs)
        {
            if (string.IsNullOrEmpty(name)) problems.Add("an output has no name");
            else if (!outNames.Add(name)) problems.Add($"the output name `{name}` is used twice");
            if (node is null || !InGraph(node)) problems.Add($"output `{name}` is not a node of this graph");
        }
        return problems;
    }

    /// <summary>Throws <see cref="GraphInvalidException"/> listing every problem when the graph breaks an
    /// invariant.</summary>
    public static void Assert(Graph graph)
    {
        var problems = Check(graph);
        if (problems.Count > 0) throw Throw.Invalid(problems);
    }

    /// <summary>For a gradient op: (its dy operand's shape, the shape the forward op produces on its
    /// Target/x).</summary>
    private static T Need<T>(T? a) where T : class => a ?? throw new ShapeException("NN0208", "missing attributes");

    private static (Shape, Shape)? ForwardOfGradient(Node n)
    {
        var a = n.Attrs;
        var x = n.Inputs;
        return n.Op switch
        {
            OpKind.Conv2dGradInput => (x[0].Shape, ShapeRules.Conv2d(n.Shape, x[1].Shape, Need(a.Conv))),
            OpKind.Conv2dGradKernel => (x[1].Shape, ShapeRules.Conv2d(x[0].Shape, n.Shape, Need(a.Conv))),
            OpKind.MaxPool2dGrad => (x[1].Shape, ShapeRules.Pool2d(x[0].Shape, Need(a.Pool), "maxPool2d")),
            OpKind.AvgPool2dGrad => (x[0].Shape, ShapeRules.Pool2d(n.Shape, Need(a.Pool), "avgPool2d")),
            _ => null,
        };
    }

    private static void CheckAttrs(Node n, string at, List<string> problems)
    {
        var a = n.Attrs;
        void Need(bool present, string what)
        {
            if (!present) problems.Add($"{at}: needs its {what} attribute");
        }
        bool Window(int first, int second, Pads p) =>
            first < 1 || second < 1 || p.Top < 0 || p.Left < 0 || p.Bottom < 0 || p.Right < 0;
        switch (n.Op)
        {
            case OpKind.Conv2d or OpKind.Conv2dGradInput or OpKind.Conv2dGradKernel:
                Need(a.Conv is not null, "strides and paddings");
                if (a.Conv is { } c && Window(c.StrideH, c.StrideW, c.Pads))
                    problems.Add($"{at}: strides must be ≥ 1 and paddings ≥ 0, got {c}");
                break;
            case OpKind.MaxPool2d or OpKind.MaxPool2dGrad or OpKind.AvgPool2d or OpKind.AvgPool2dGrad:
                Need(a.Pool is not null, "window size, stride and paddings");
                if (a.Pool is { } p && Window(p.Size, p.Stride, p.Pads))
                    problems.Add($"{at}: window size and stride must be ≥ 1 and paddings ≥ 0, got {p}");
                break;
            case OpKind.OneHot:
                Need(a.Width is not null, "width");
                if (a.Width < 1) problems.Add($"{at}: one-hot width must be ≥ 1");
                break;
            case OpKind.DropoutMask:
                Need(a.Stream is not null, "stream id");
                break;
            case OpKind.Transpose: Need(a.Perm is not null, "permutation"); break;
            case OpKind.Slice: Need(a.Slice is not null, "starts and stops"); break;
            case OpKind.Pad: Need(a.Pad is not null, "before and after widths"); break;
            case OpKind.ScatterAdd: Need(a.Target is not null, "table shape"); break;
        }
    }
}
