using Nn.Runtime.IR;

namespace Nn.Runtime.Rewrite;

/// <summary>What <see cref="Passes.Optimize(Graph, out OptimizeReport)"/> did.</summary>
internal sealed record OptimizeReport(int NodesBefore, int NodesAfter, int Rounds)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"nodes: {NodesBefore} → {NodesAfter} ({Rounds} round{(Rounds == 1 ? "" : "s")})";
}

/// <summary>The optimisation pipeline: constant folding, algebraic simplification and dead-node elimination
/// (each rebuild also merges common subexpressions), repeated until the graph stops changing.</summary>
internal static class Passes
{
    /// <summary>The most rounds run before giving up on a fixed point (each round only shrinks or rewrites
    /// locally).</summary>
    public const int MaxRounds = 20;

    /// <summary>The optimised graph.</summary>
    public static Graph Optimize(Graph graph) => Optimize(graph, out _);

    /// <summary>The optimised graph, and node counts before and after.</summary>
    public static Graph Optimize(Graph graph, out OptimizeReport report)
    {
        var current = DeadNodes.Run(graph);
        var text = GraphPrinter.Text(current);
        int rounds = 1;
        while (rounds < MaxRounds)
        {
            var next = DeadNodes.Run(Simplify.Run(ConstantFolding.Run(current)));
            rounds++;
            var nextText = GraphPrinter.Text(next);
            current = next;
            if (nextText == text) break;
            text = nextText;
        }
        report = new OptimizeReport(graph.Nodes.Count, current.Nodes.Count, rounds);
        return current;
    }

    /// <summary>All passes by name, for tests that check each one on its own.</summary>
    public static IReadOnlyList<(string Name, Func<Graph, Graph> Run)> All { get; } =
    [
        ("cse", Cse.Run), ("fold", ConstantFolding.Run), ("simplify", Simplify.Run), ("dead", DeadNodes.Run),
        ("optimize", Optimize),
    ];
}

/// <summary>Common-subexpression elimination: a plain rebuild (the builder merges equal nodes).</summary>
internal static class Cse
{
    /// <summary>The graph with equal nodes merged.</summary>
    public static Graph Run(Graph graph) => Rebuild.Run(graph);
}

/// <summary>Dead-node elimination: drops nodes no output depends on, keeping every Input, Param and State
/// (see <see cref="Rebuild.Run"/>).</summary>
internal static class DeadNodes
{
    /// <summary>The graph without dead nodes.</summary>
    public static Graph Run(Graph graph) => Rebuild.Run(graph, dropDead: true);
}
