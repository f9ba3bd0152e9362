namespace Nn.Runtime.IR;

/// <summary>
/// Builds a <see cref="Graph"/> node by node, in topological order by construction. Nodes are hash-consed:
/// adding an op with the same kind, operands and attributes as an existing node returns that node (the first
/// one's span is kept). Sources (Input, Param, State) are unique by name; adding a second with the same name
/// and shape returns the first, with another shape is an error. Shape errors throw <see cref="ShapeException"/>.
/// </summary>
internal sealed class GraphBuilder
{
    private readonly List<Node> _nodes = [];
    private readonly Dictionary<string, Node> _consed = [];
    private readonly Dictionary<string, Node> _sources = [];
    private int _streams;

    /// <summary>The nodes added so far.</summary>
    public IReadOnlyList<Node> Nodes => _nodes;

    /// <summary>Add any op; its shape is inferred by <see cref="Infer.Shape"/>. Operands must belong to this
    /// builder.</summary>
    public Node Add(OpKind op, IReadOnlyList<Node> inputs, OpAttrs attrs, SourceSpan span, Shape? sourceShape = null)
    {
        foreach (var i in inputs)
            if (i.Id >= _nodes.Count || !ReferenceEquals(_nodes[i.Id], i))
                throw new InvalidOperationException($"operand {i} of {op} belongs to another graph");
        if (op is OpKind.Input or OpKind.Param or OpKind.State)
        {
            var name = attrs.Name ?? throw new InvalidOperationException($"{op} needs a name");
            var shape = sourceShape ?? throw new InvalidOperationException($"{op} needs a shape");
            if (_sources.TryGetValue(name, out var existing))
            {
                if (existing.Op != op || !existing.Shape.Equals(shape))
                    throw new ShapeException("NN0209",
                        $"`{name}` is already a {existing.Op.ToString().ToLowerInvariant()} of shape {existing.Shape}, "
                        + $"not a {op.ToString().ToLowerInvariant()} of shape {shape}");
                return existing;
            }
            var src = Append(op, [], shape, attrs, span);
            _sources[name] = src;
            return src;
        }
        var shapeOut = Infer.Shape(op, inputs.Select(i => i.Shape).ToArray(), attrs, sourceShape);
        var key = $"{(int)op}({string.Join(",", inputs.Select(i => i.Id))}){attrs.Key}|{shapeOut}";
        if (_consed.TryGetValue(key, out var same)) return same;
        var node = Append(op, inputs.ToArray(), shapeOut, attrs, span);
        _consed[key] = node;
        return node;
    }

    private Node Append(OpKind op, Node[] inputs, Shape shape, OpAttrs attrs, SourceSpan span)
    {
        var node = new Node(_nodes.Count, op, inputs, shape, attrs, span);
        _nodes.Add(node);
        return node;
    }

    /// <summary>The finished graph with its named outputs.</summary>
    public Graph Build(IEnumerable<KeyValuePair<string, Node>> outputs) => new(_nodes.ToArray(), outputs.ToArray());

    // ---- sources ----
    /// <summary>A named input fed at run time.</summary>
    public Node Input(string name, Shape shape, SourceSpan span) =>
        Add(OpKind.Input, [], new OpAttrs { Name = name }, span, shape);
    /// <summary>A trainable parameter.</summary>
    public Node Param(string name, Shape shape, InitSpec init, SourceSpan span) =>
        Add(OpKind.Param, [], new OpAttrs { Name = name, Init = init }, span, shape);
    /// <summary>Persistent non-trainable state.</summary>
    public Node State(string name, Shape shape, InitSpec init, SourceSpan span) =>
        Add(OpKind.State, [], new OpAttrs { Name = name, Init = init }, span, shape);
    /// <summary>A constant (by default a scalar).</summary>
    public Node Const(double value, SourceSpan span, Shape? shape = null) =>
        Add(OpKind.Const, [], new OpAttrs { Value = value, Target = shape ?? Shape.Scalar }, span);

    // ---- elementwise ----
    /// <summary>A unary elementwise op (alpha for LeakyRelu/Elu).</summary>
    public Node Unary(OpKind op, Node x, SourceSpan span, double alpha = 0) =>
        Add(op, [x], alpha == 0 ? OpAttrs.None : new OpAttrs { Value = alpha }, span);
    /// <summary>A binary elementwise op with broadcasting.</summary>
    public Node Binary(OpKind op, Node a, Node b, SourceSpan span) => Add(op, [a, b], OpAttrs.None, span);
    /// <summary>cond ? a : b.</summary>
    public Node Where(Node cond, Node a, Node b, SourceSpan span) =>
        Add(OpKind.Where, [cond, a, b], OpAttrs.None, span);

    // ---- linear algebra and layout ----
    /// <summary>Matrix product.</summary>
    public Node MatMul(Node a, Node b, SourceSpan span) => Add(OpKind.MatMul, [a, b], OpAttrs.None, span);
    /// <summary>Axis permutation; by default swaps the last two axes.</summary>
    public Node Transpose(Node x, SourceSpan span, int[]? perm = null)
    {
        perm ??= Enumerable.Range(0, x.Shape.Rank)
            .Select(i => i < x.Shape.Rank - 2 ? i : (i == x.Shape.Rank - 1 ? i - 1 : i + 1)).ToArray();
        return Add(OpKind.Transpose, [x], new OpAttrs { Perm = perm }, span);
    }
    /// <summary>Same elements, new shape (no node when the shape is unchanged).</summary>
    public Node Reshape(Node x, Shape target, SourceSpan span) =>
        x.Shape.Equals(target) ? x : Add(OpKind.Reshape, [x], new OpAttrs { Target = target }, span);
    /// <summary>Broadcast to a shape (no node when the shape is unchanged).</summary>
    public Node Broadcast(Node x, Shape target, SourceSpan span) =>
        x.Shape.Equals(target) ? x : Add(OpKind.Broadcast, [x], new OpAttrs { Target = target }, span);
    /// <summary>Join along an axis.</summary>
    public Node Concat(IReadOnlyList<Node> xs, int axis, SourceSpan span) =>
        Add(OpKind.Concat, xs, new OpAttrs { Axes = [axis] }, span);
    /// <summary>Per-axis [start, stop) with stop -1 meaning the whole axis.</summary>
    public Node Slice(Node x, int[] starts, int[] stops, SourceSpan span) =>
        Add(OpKind.Slice, [x], new OpAttrs { Slice = new SliceAttrs(starts, stops) }, span);
    /// <summary>Zero padding before and after each axis.</summary>
    public Node Pad(Node x, int[] before, int[] after, SourceSpan span) =>
        Add(OpKind.Pad, [x], new OpAttrs { Pad = new PadAttrs(before, after) }, span);

    /// <summary>Rows <paramref name="ids"/> of <paramref name="table"/> [v, d].</summary>
    public Node Gather(Node table, Node ids, SourceSpan span) => Add(OpKind.Gather, [table, ids], OpAttrs.None, span);
    /// <summary>The rows of <paramref name="g"/> summed into a zero table of shape <paramref name="table"/> at
    /// <paramref name="ids"/>.</summary>
    public Node ScatterAdd(Node g, Node ids, Shape table, SourceSpan span) =>
        Add(OpKind.ScatterAdd, [g, ids], new OpAttrs { Target = table }, span);

    // ---- reductions and normalised exponentials ----
    /// <summary>Sum, Mean or ReduceMax over axes (all when empty).</summary>
    public Node Reduce(OpKind op, Node x, int[] axes, bool keepDims, SourceSpan span) =>
        Add(op, [x], new OpAttrs
        {
            Axes = axes.Select(a => ShapeRules.Axis(a, x.Shape.Rank, Infer.Word(op))).Order().ToArray(),
            KeepDims = keepDims
        }, span);
    /// <summary>Softmax or LogSoftmax over one axis.</summary>
    public Node Softmax(OpKind op, Node x, int axis, SourceSpan span) =>
        Add(op, [x], new OpAttrs { Axes = [ShapeRules.Axis(axis, x.Shape.Rank, Infer.Word(op))] }, span);

    // ---- convolution and pooling ----
    /// <summary>2-D convolution with strides and paddings (top, left, bottom, right).</summary>
    public Node Conv2d(Node x, Node k, int strideH, int strideW, int[] pads, SourceSpan span) =>
        Add(OpKind.Conv2d, [x, k], new OpAttrs { Conv = new ConvAttrs(strideH, strideW, Pads.Of(pads)) }, span);
    /// <summary>Max or average pooling with a square window, without padding.</summary>
    public Node Pool(OpKind op, Node x, int size, int stride, SourceSpan span) =>
        Pool(op, x, size, stride, [0, 0, 0, 0], span);
    /// <summary>Max or average pooling with a square window and paddings (top, left, bottom, right) that the
    /// windows ignore: a padded cell is never a maximum and does not count in a mean (as in Keras).</summary>
    public Node Pool(OpKind op, Node x, int size, int stride, int[] pads, SourceSpan span) =>
        Add(op, [x], new OpAttrs { Pool = new PoolAttrs(size, stride, Pads.Of(pads)) }, span);

    // ---- randomness and labels ----
    /// <summary>A fresh inverted-dropout mask with the shape of <paramref name="x"/> (each call is a distinct random
    /// stream).</summary>
    public Node DropoutMask(Node x, double p, SourceSpan span) =>
        Add(OpKind.DropoutMask, [x], new OpAttrs { Value = p, Stream = _streams++ }, span);
    /// <summary>One-hot rows from class indices.</summary>
    public Node OneHot(Node labels, int classes, SourceSpan span) =>
        Add(OpKind.OneHot, [labels], new OpAttrs { Width = classes }, span);

    // ---- collectives ----
    /// <summary>The sum of <paramref name="x"/> over the ranks of a data-parallel job (the identity with one rank).
    /// </summary>
    public Node RankSum(Node x, SourceSpan span) => Add(OpKind.RankSum, [x], OpAttrs.None, span);
}
