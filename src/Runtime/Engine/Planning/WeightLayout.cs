using System.Runtime.Intrinsics;
using Nn.Runtime.Engine.Lowering;
using Nn.Runtime.IR;
using Nn.Runtime.Kernels;
using Nn.Runtime.Training;

namespace Nn.Runtime.Engine.Planning;

/// <summary>
/// Chooses the weights the engine stores in <see cref="GemmPanels"/> layout, so the products that read them as B skip
/// packing them on every call. Pure: plans in, Param/State names out. A weight qualifies when it is a fixed r×c matrix
/// (c a multiple of 32, r &gt; 16, more than 4096 elements: never a narrow or tiny product) and every value that shares
/// its layout allows it, in every plan that uses it. Values share a layout when one fused loop of that shape computes
/// one from the other (the optimizer's update, its moments, a weight penalty), or when one is the weight gradient a
/// product writes. Allowed uses: B of a product (transposed or not), C of a single product, a fused loop of the same
/// shape, a reduction to one number, a Param or State source, its <c>new:</c> output. Anything else (A of a product, a
/// broadcast into another shape, a view, a fed input, any other kernel, any other output) keeps the whole group
/// row-major.
/// </summary>
internal static class WeightLayout
{
    /// <summary>Whether panels pay on this machine: only the AVX-512 micro-kernel is 32 columns wide and reads a weight
    /// in place (narrower kernels would pack from the panels element by element). Executors keep every value row-major
    /// when false.</summary>
    public static bool Pays => Vector512.IsHardwareAccelerated;

    /// <summary>The names of the Params and States stored in panel layout by an executor running all of
    /// <paramref name="plans"/>.</summary>
    public static IReadOnlySet<string> Choose(IReadOnlyList<Plan> plans)
    {
        var groups = plans.Select(p => new Groups(p)).ToArray();
        var names = groups.SelectMany(g => g.SourceNames()).ToHashSet();
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var g in groups)
                foreach (var group in g.All())
                {
                    var sources = g.SourceNamesOf(group);
                    if ((g.Poisoned(group) || !sources.All(names.Contains)) && sources.Any(names.Contains))
                    {
                        names.ExceptWith(sources);
                        changed = true;
                    }
                }
        }
        return names;
    }

    /// <summary>For each node of <paramref name="plan"/> (by id), whether its value is stored in panel layout, given
    /// the chosen <paramref name="names"/>.</summary>
    public static bool[] Mark(Plan plan, IReadOnlySet<string> names)
    {
        var g = new Groups(plan);
        var panels = new bool[plan.Graph.Nodes.Count];
        foreach (var group in g.All())
            if (!g.Poisoned(group) && g.SourceNamesOf(group) is { Count: > 0 } s && s.All(names.Contains))
                foreach (var id in g.Members(group)) panels[id] = true;
        return panels;
    }

    /// <summary>Whether a fixed shape can be a panel-layout weight: never a product the binder runs another way than
    /// the packed GEMM (a transposed weight of at most <see cref="GemmForm.NarrowColumns"/> rows is a narrow product,
    /// and a product with a batch of one row still has more than <see cref="GemmForm.SmallProduct"/>
    /// multiply-adds).</summary>
    internal static bool Candidate(Shape s) =>
        s.Rank == 2 && s[0].IsFixed && s[1].IsFixed && s[0].Size > GemmForm.NarrowColumns
        && GemmPanels.Fits(s[0].Size, s[1].Size)
        && (long)s[0].Size * s[1].Size > GemmForm.SmallProduct;

    /// <summary>The candidate values of one plan, grouped by shared layout (union-find over node ids), each group
    /// poisoned by any use that needs row-major order.</summary>
    private sealed class Groups
    {
        private readonly Plan _plan;
        private readonly int[] _parent;
        private readonly bool[] _candidate, _poison;

        public Groups(Plan plan)
        {
            _plan = plan;
            var nodes = plan.Graph.Nodes;
            _parent = Enumerable.Range(0, nodes.Count).ToArray();
            _candidate = nodes.Select(n => Candidate(n.Shape)
                && plan.Storage[n.Id] is not (Storage.None or Storage.Constant)).ToArray();
            _poison = new bool[nodes.Count];
            foreach (var n in nodes)
            {
                if (!_candidate[n.Id]) continue;
                if (plan.Storage[n.Id] == Storage.View) Poison(n); // a reshape of a weight reads it in row-major order
                if (n.Op == OpKind.Input) Poison(n);
            }
            foreach (var id in plan.ViewOf.Where(v => v >= 0)) if (_candidate[id]) Poison(nodes[id]);
            foreach (var k in plan.Kernels) Visit(k);
            foreach (var (name, v) in plan.Graph.Outputs)
            {
                if (!_candidate[v.Id]) continue;
                var target = name.StartsWith(TrainStep.NewPrefix, StringComparison.Ordinal)
                    ? name[TrainStep.NewPrefix.Length..] : null;
                var src = target is null ? null
                    : nodes.FirstOrDefault(x => x.Op is OpKind.Param or OpKind.State && x.Name == target);
                if (src is null || !_candidate[src.Id]) Poison(v);
                else Union(v.Id, src.Id);
            }
        }

        private void Visit(PlanKernel k)
        {
            switch (k)
            {
                case FusedLoop loop:
                    // Every value of the loop's own shape is read and written at the same flat index: one layout.
                    int rep = -1;
                    bool broadcast = false;
                    foreach (var op in loop.Ops)
                        foreach (var x in op.Operands.Append(op.Node))
                        {
                            if (!x.Shape.Equals(loop.Domain)) { broadcast |= !x.Shape.IsOne; continue; }
                            if (!_candidate[x.Id]) continue;
                            if (rep < 0) rep = x.Id; else Union(rep, x.Id);
                        }
                    // a row or column broadcast into the weight's shape
                    if (rep >= 0 && broadcast) Poison(_plan.Graph.Nodes[rep]);
                    // A weight read by a loop of another shape (broadcast into more axes) is read in row-major order.
                    foreach (var op in loop.Ops)
                        foreach (var x in op.Operands)
                            if (_candidate[x.Id] && !x.Shape.Equals(loop.Domain)) Poison(x);
                    break;
                case GemmKernel g:
                    if (_candidate[g.A.Id]) Poison(g.A);
                    if (g.Bias is { } b && _candidate[b.Id]) Poison(b);
                    if (_candidate[g.Output.Id] && (g.A.Shape.Rank != 2 || g.B.Shape.Rank != 2)) Poison(g.Output);
                    break;
                case NodeKernel nk:
                    if (_candidate[nk.Node.Id]) Poison(nk.Node);
                    bool toOne = nk.Node.Op is OpKind.Sum or OpKind.Mean or OpKind.ReduceMax && nk.Node.Shape.IsOne;
                    foreach (var x in nk.Operands) if (_candidate[x.Id] && !toOne) Poison(x);
                    break;
            }
        }

        private int Find(int x) { while (_parent[x] != x) x = _parent[x] = _parent[_parent[x]]; return x; }
        private void Union(int a, int b)
        {
            a = Find(a); b = Find(b); if (a != b) { _parent[b] = a; _poison[a] |= _poison[b]; }
        }
        private void Poison(Node n) => _poison[Find(n.Id)] = true;

        public IEnumerable<int> All() => Enumerable.Range(0, _parent.Length).Where(i => _candidate[i] && Find(i) == i);
        public bool Poisoned(int group) => _poison[Find(group)];
        public IEnumerable<int> Members(int group) =>
            Enumerable.Range(0, _parent.Length).Where(i => _candidate[i] && Find(i) == Find(group));

        public IReadOnlyList<string> SourceNamesOf(int group) =>
            Members(group).Select(i => _plan.Graph.Nodes[i]).Where(n => n.Op is OpKind.Param or OpKind.State)
                .Select(n => n.Name!).ToArray();

        public IEnumerable<string> SourceNames() => All().SelectMany(SourceNamesOf);
    }
}
