namespace Nn.Runtime.IR;

/// <summary>Which nodes of a graph a set of targets needs.</summary>
internal static class Liveness
{
    /// <summary>For each node id, whether some target depends on the node (targets included). One backward sweep:
    /// a graph is in topological order.</summary>
    public static bool[] Live(Graph graph, IEnumerable<Node> targets)
    {
        var live = new bool[graph.Nodes.Count];
        foreach (var t in targets) live[t.Id] = true;
        for (int i = live.Length - 1; i >= 0; i--)
            if (live[i]) foreach (var x in graph.Nodes[i].Inputs) live[x.Id] = true;
        return live;
    }
}
