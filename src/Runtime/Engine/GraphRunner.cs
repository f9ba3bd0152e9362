using Nn.Runtime.Data;
using Nn.Runtime.Engine.Lowering;
using Nn.Runtime.Engine.Planning;
using Nn.Runtime.IR;

namespace Nn.Runtime.Engine;

/// <summary>A graph planned and bound for fixed fed shapes: run, read outputs.
/// Running allocates nothing. The arrays fed to <see cref="GraphRunner.Compile"/> are used, not copied.</summary>
internal sealed class CompiledGraph
{
    private readonly BoundProgram _p;
    private readonly Graph _g;

    internal CompiledGraph(Graph g, BoundProgram p) { _g = g; _p = p; }

    /// <summary>The plan that was bound.</summary>
    public Plan Plan => _p.Plan;

    /// <summary>Runs every kernel once.</summary>
    public void Run() => _p.Run();

    /// <summary>An output's values (a view of its buffer, valid until the next run) and its shape.</summary>
    public ReadOnlySpan<float> Output(string name, out int[] shape)
    {
        var node = _g.Output(name);
        shape = _p.Shapes[node.Id];
        return _p.Slots[_p.SlotOf[node.Id]].AsSpan(0, NodeKernels.Count(shape));
    }
}

/// <summary>Runs any graph on the fused engine (plan, bind, run): for tests against the reference interpreter, for
/// benchmarks and tools. Training goes through <see cref="FusedExecutor"/>, which keeps its bindings.</summary>
internal static class GraphRunner
{
    /// <summary>Plans and binds <paramref name="graph"/> for the shapes of <paramref name="feeds"/> (every Input,
    /// Param and State by name; dimension variables bind from them) and points the sources at the fed
    /// arrays.</summary>
    public static CompiledGraph Compile(Graph graph, IReadOnlyDictionary<string, HostTensor> feeds,
        int threads = 1, ulong seed = 0, long step = 0, bool optimize = false)
    {
        var g = optimize ? Rewrite.Passes.Optimize(graph) : graph;
        var plan = Planner.Build(g);
        var dims = new Dictionary<string, int>();
        foreach (var n in g.Nodes.Where(n => n.IsSource && n.Op != OpKind.Const))
            if (feeds.TryGetValue(n.Name!, out var t))
                for (int i = 0; i < Math.Min(t.Shape.Length, n.Shape.Rank); i++)
                    if (!n.Shape[i].IsFixed) dims[n.Shape[i].Symbol!] = t.Shape[i];
        var p = Binder.Bind(plan, dims, threads, false, new StepContext { Seed = seed, Step = step });
        foreach (var n in g.Nodes.Where(n => n.IsSource && n.Op != OpKind.Const && p.SlotOf[n.Id] >= 0))
            p.Slots[p.SlotOf[n.Id]] = feeds.TryGetValue(n.Name!, out var t) ? t.Data
                : throw Throw.Exec(RuntimeCodes.MissingFeed, $"no value was given for `{n.Name}`", n);
        return new CompiledGraph(g, p);
    }

    /// <summary>Every output of <paramref name="graph"/> by name after one run (see <see cref="Compile"/>).
    /// Dropout masks use <paramref name="seed"/> and <paramref name="step"/> as the reference does.</summary>
    public static Dictionary<string, HostTensor> Run(Graph graph, IReadOnlyDictionary<string, HostTensor> feeds,
        int threads = 1, ulong seed = 0, long step = 0, bool optimize = false)
    {
        var c = Compile(graph, feeds, threads, seed, step, optimize);
        c.Run();
        return graph.Outputs.Select(o => o.Key).Distinct().ToDictionary(k => k, k =>
        {
            var data = c.Output(k, out var shape).ToArray();
            return new HostTensor((int[])shape.Clone(), data);
        });
    }

    /// <summary>The plan of <paramref name="graph"/> as text (after the rewrite passes by default), for
    /// <c>nn graph --plan</c>, with the weights this graph alone lets the engine keep in panel layout
    /// (<see cref="WeightLayout"/>).</summary>
    public static string PlanText(Graph graph, bool optimize = true)
    {
        var plan = Planner.Build(optimize ? Rewrite.Passes.Optimize(graph) : graph);
        return PlanPrinter.Text(WeightLayout.Pays
            ? plan.WithPanels(WeightLayout.Mark(plan, WeightLayout.Choose([plan])))
            : plan);
    }
}
