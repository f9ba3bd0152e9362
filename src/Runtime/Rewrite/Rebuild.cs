using Nn.Runtime.IR;

namespace Nn.Runtime.Rewrite;

/// <summary>A local rewrite: given the old node and its operands already rebuilt in <paramref name="b"/>, return a
/// replacement of the same shape, or null to copy the node unchanged.</summary>
internal delegate Node? NodeRewrite(GraphBuilder b, Node old, Node[] inputs);

/// <summary>
/// The engine every pass shares: copy a graph node by node, in order, through a fresh <see cref="GraphBuilder"/>,
/// letting a rewrite replace each node. Since the builder hash-conses, every rebuild is also common-subexpression
/// elimination. Passes are pure: the input graph is never changed.
/// </summary>
internal static class Rebuild
{
    /// <summary>Copies <paramref name="graph"/>, applying <paramref name="rewrite"/> to each node (after its operands).
    /// With <paramref name="dropDead"/>, nodes no output depends on are left out — except Inputs, Params and States,
    /// which are always kept, so optimising never changes what a graph must be fed or which parameters it
    /// owns.</summary>
    public static Graph Run(Graph graph, NodeRewrite? rewrite = null, bool dropDead = false)
    {
        var live = dropDead ? Live(graph) : null;
        var b = new GraphBuilder();
        var map = new Node?[graph.Nodes.Count];
        foreach (var old in graph.Nodes)
        {
            if (live is not null && !live[old.Id]) continue;
            var inputs = old.Inputs.Select(x => map[x.Id] ?? throw Throw.Bug($"{x} was dropped but {old} uses it"))
                .ToArray();
            var replaced = rewrite?.Invoke(b, old, inputs);
            if (replaced is not null && !replaced.Shape.Equals(old.Shape))
                throw Throw.Bug($"a rewrite of {old.Op} {old} changed its shape from {old.Shape} to {replaced.Shape}");
            map[old.Id] = replaced ?? Copy(b, old, inputs);
        }
        return b.Build(graph.Outputs.Select(o => KeyValuePair.Create(o.Key, map[o.Value.Id]!)));
    }

    /// <summary>The node <paramref name="old"/> re-added with new operands.</summary>
    public static Node Copy(GraphBuilder b, Node old, Node[] inputs) =>
        b.Add(old.Op, inputs, old.Attrs, old.Span,
            old.Op is OpKind.Input or OpKind.Param or OpKind.State ? old.Shape : null);

    /// <summary>Nodes some output depends on, plus every Input, Param and State.</summary>
    public static bool[] Live(Graph graph)
    {
        var live = new bool[graph.Nodes.Count];
        foreach (var o in graph.Outputs) live[o.Value.Id] = true;
        for (int i = live.Length - 1; i >= 0; i--)
        {
            var n = graph.Nodes[i];
            if (n.Op is OpKind.Input or OpKind.Param or OpKind.State) live[i] = true;
            if (live[i]) foreach (var x in n.Inputs) live[x.Id] = true;
        }
        return live;
    }
}
