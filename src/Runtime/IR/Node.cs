namespace Nn.Runtime.IR;

/// <summary>One operation of a graph: an op kind, its inputs (earlier nodes of the same graph), its shape,
/// attributes and the source span that created it. Immutable; <see cref="Id"/> is its index in the graph.</summary>
internal sealed class Node
{
    internal Node(int id, OpKind op, Node[] inputs, Shape shape, OpAttrs attrs, SourceSpan span)
    {
        Id = id; Op = op; _inputs = inputs; Shape = shape; Attrs = attrs; Span = span;
    }

    private readonly Node[] _inputs;

    /// <summary>The index of this node in its graph's <see cref="Graph.Nodes"/>.</summary>
    public int Id { get; }
    /// <summary>The operation.</summary>
    public OpKind Op { get; }
    /// <summary>The operands, all earlier in the graph.</summary>
    public IReadOnlyList<Node> Inputs => _inputs;
    /// <summary>The result's shape.</summary>
    public Shape Shape { get; }
    /// <summary>The attributes.</summary>
    public OpAttrs Attrs { get; }
    /// <summary>The source that made this node (the user's line for errors at run time).</summary>
    public SourceSpan Span { get; }
    /// <summary>The name of an Input, Param or State.</summary>
    public string? Name => Attrs.Name;

    /// <summary>True for Input, Param, State and Const.</summary>
    public bool IsSource => Op is OpKind.Input or OpKind.Param or OpKind.State or OpKind.Const;

    /// <inheritdoc />
    public override string ToString() => $"%{Id}";
}

/// <summary>An immutable computation graph in topological order, with named outputs.</summary>
internal sealed class Graph
{
    /// <summary>Build from nodes already in topological order (use <see cref="GraphBuilder"/>).</summary>
    public Graph(IReadOnlyList<Node> nodes, IReadOnlyList<KeyValuePair<string, Node>> outputs)
    {
        Nodes = nodes; Outputs = outputs;
    }

    /// <summary>All nodes; every node's inputs come before it.</summary>
    public IReadOnlyList<Node> Nodes { get; }
    /// <summary>Named results (for a network: "output"; for a training step: "loss", updated parameters and
    /// state).</summary>
    public IReadOnlyList<KeyValuePair<string, Node>> Outputs { get; }

    /// <summary>The output with this name.</summary>
    public Node Output(string name) =>
        Outputs.FirstOrDefault(o => o.Key == name).Value
            ?? throw new KeyNotFoundException($"graph has no output `{name}`");

    /// <summary>Trainable parameters, in order of creation.</summary>
    public IEnumerable<Node> Params => Nodes.Where(n => n.Op == OpKind.Param);
    /// <summary>Inputs, in order of creation.</summary>
    public IEnumerable<Node> Inputs => Nodes.Where(n => n.Op == OpKind.Input);
    /// <summary>Persistent state, in order of creation.</summary>
    public IEnumerable<Node> States => Nodes.Where(n => n.Op == OpKind.State);
}
