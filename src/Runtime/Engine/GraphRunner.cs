using Nn.Runtime.Data;
using Nn.Runtime.Engine.Codegen;
using Nn.Runtime.Engine.Planning;
using Nn.Runtime.IR;

namespace Nn.Runtime.Engine;

/// <summary>Runs any graph once on the fused engine (plan, bind, run): for tests against the reference interpreter
/// and for tools. Training goes through <see cref="FusedExecutor"/>, which keeps its bindings.</summary>
public static class GraphRunner
{
    /// <summary>Every output of <paramref name="graph"/>, by name. <paramref name="feeds"/> holds every Input, Param and
    /// State by name; dimension variables are bound from the fed shapes. Dropout masks use <paramref name="seed"/> and
    /// <paramref name="step"/> as the reference does.</summary>
    public static Dictionary<string, HostTensor> Run(Graph graph, IReadOnlyDictionary<string, HostTensor> feeds,
        int threads = 1, ulong seed = 0, long step = 0, bool optimize = false)
    {
        var g = optimize ? Rewrite.Passes.Optimize(graph) : graph;
        var plan = Planner.Build(g);
        var dims = new Dictionary<string, int>();
        foreach (var n in g.Nodes.Where(n => n.IsSource && n.Op != OpKind.Const))
            if (feeds.TryGetValue(n.Name!, out var t))
                for (int i = 0; i < Math.Min(t.Shape.Length, n.Shape.Rank); i++)
                    if (!n.Shape[i].IsFixed) dims[n.Shape[i].Symbol!] = t.Shape[i];
        var ctx = new StepContext { Seed = seed, Step = step };
        var p = Binder.Bind(plan, dims, threads, false, ctx);
        foreach (var n in g.Nodes.Where(n => n.IsSource && n.Op != OpKind.Const && p.SlotOf[n.Id] >= 0))
            p.Slots[p.SlotOf[n.Id]] = feeds.TryGetValue(n.Name!, out var t) ? t.Data
                : throw Throw.Exec(RuntimeCodes.MissingFeed, $"no value was given for `{n.Name}`", n);
        p.Run();
        return g.Outputs.ToDictionary(o => o.Key, o =>
        {
            var shape = p.Shapes[o.Value.Id];
            var data = new float[NodeKernels.Count(shape)];
            Array.Copy(p.Slots[p.SlotOf[o.Value.Id]], data, data.Length);
            return new HostTensor((int[])shape.Clone(), data);
        });
    }

    /// <summary>The plan of <paramref name="graph"/> as text (optionally after the rewrite passes), for <c>nn graph --plan</c>.</summary>
    public static string PlanText(Graph graph, bool optimize = true) =>
        PlanPrinter.Text(Planner.Build(optimize ? Rewrite.Passes.Optimize(graph) : graph));
}
