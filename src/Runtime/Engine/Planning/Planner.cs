using Nn.Runtime.IR;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.Engine.Planning;

/// <summary>
/// The fusion planner: a pure function from a graph to a <see cref="Plan"/>. It decides what to fuse, never how to
/// run it. In order: (1) matrix products take transposed operands as GEMM flags and absorb a following row-vector
/// bias add and relu/tanh/sigmoid into the GEMM epilogue (relu's derivative mask <c>step(x @ w + b)</c> is read from
/// the relu output instead, as step(relu z) = step z); (2) Reshape becomes a view and constants broadcast values;
/// (3) elementwise and broadcast ops of one shape are grouped into loops, greedily joining a producer's loop unless
/// that would make a cycle through another kernel, with a slice of one axis that only such ops read (read in place,
/// block by block); (4) everything else is one kernel per node; (5) kernels are
/// ordered topologically, a kernel whose values only the caller reads (an optimizer update) as soon as it is ready.
/// </summary>
internal static class Planner
{
    /// <summary>Plans <paramref name="graph"/> as given (run <see cref="Rewrite.Passes.Optimize(Graph)"/> first to
    /// simplify it).</summary>
    public static Plan Build(Graph graph)
    {
        var nodes = graph.Nodes;
        int count = nodes.Count;
        var isOutput = new bool[count];
        foreach (var o in graph.Outputs) isOutput[o.Value.Id] = true;
        var live = Liveness.Live(graph, graph.Outputs.Select(o => o.Value));
        var operands = nodes.Select(n => n.Inputs.ToArray()).ToArray();
        var consumers = Consumers(nodes, operands, live);

        // (1) matrix products and their epilogues
        var gemmOf = new GemmKernel?[count];
        var absorbed = new bool[count];
        foreach (var m in nodes)
            if (live[m.Id] && m.Op == OpKind.MatMul
                && MatchGemm(m, operands, consumers, isOutput, gemmOf, absorbed) is { } g)
            {
                gemmOf[g.Output.Id] = g;
                foreach (var a in g.Absorbed) absorbed[a.Id] = true;
            }

        // effective operands, then what is still needed
        Node[] Effective(Node n) => gemmOf[n.Id] is { } g ? [.. g.Reads] : absorbed[n.Id] ? [] : operands[n.Id];
        var needed = new bool[count];
        foreach (var o in graph.Outputs) needed[o.Value.Id] = true;
        for (int i = count - 1; i >= 0; i--)
            if (needed[i]) foreach (var x in Effective(nodes[i])) needed[x.Id] = true;

        // (2) storage of sources, views and constants
        var storage = new Storage[count];
        var viewOf = Enumerable.Repeat(-1, count).ToArray();
        foreach (var n in nodes)
        {
            if (!needed[n.Id]) continue;
            if (n.Op == OpKind.Const) storage[n.Id] = Storage.Constant;
            else if (n.Op == OpKind.Reshape)
            {
                var src = operands[n.Id][0];
                if (storage[src.Id] == Storage.Constant) storage[n.Id] = Storage.Constant;
                else { storage[n.Id] = Storage.View; viewOf[n.Id] = viewOf[src.Id] >= 0 ? viewOf[src.Id] : src.Id; }
            }
            else storage[n.Id] = Storage.Buffer;
        }

        // (3) + (4) kernels; a slice that only elementwise ops read joins their loop, which reads its elements in
        // place from the sliced value (blocks of rows: LoopSlice)
        var loopSlice = nodes.Select(n => needed[n.Id] && !isOutput[n.Id] && LoopSlice(n, consumers[n.Id], storage)
            && consumers[n.Id].All(c => gemmOf[c.Id] is null && !absorbed[c.Id])).ToArray();
        var kernels = new List<(PlanKernel Kernel, int Anchor)>();
        var loopOf = Enumerable.Repeat(-1, count).ToArray();
        var loops = new List<List<Node>>();
        // the nearest loops a node depends on through stored values: a loop operand's loop, else its operand's
        // nearest loops (the rest is reached through loopDeps, so memory stays linear in deep networks)
        var reach = new HashSet<int>[count];
        var loopDeps = new List<HashSet<int>>(); // loops a whole loop depends on (any member's operands)
        // a merged loop's id → the loop it was merged into (ids in reach sets may be stale)
        var alias = new List<int>();
        foreach (var n in nodes)
        {
            if (!needed[n.Id]) continue;
            var ops = Effective(n);
            var r = new HashSet<int>();
            foreach (var x in ops) { if (loopOf[x.Id] >= 0) r.Add(loopOf[x.Id]); else r.UnionWith(reach[x.Id] ?? []); }
            reach[n.Id] = r;
            if (n.IsSource || n.Op == OpKind.Reshape || absorbed[n.Id]) continue;
            if (gemmOf[n.Id] is { } g) { kernels.Add((g, n.Id)); continue; }
            if (!IsElementwise(n.Op) && !loopSlice[n.Id]) { kernels.Add((new NodeKernel(n, ops), n.Id)); continue; }
            // Operands in two independent loops of this shape (an optimizer's moment and its gradient term): merge
            // the loops, so the node joins both and neither operand is stored.
            var sameShape = ops.Where(x => loopOf[x.Id] >= 0 && x.Shape.Equals(n.Shape)).Select(x => loopOf[x.Id])
                .Distinct().ToArray();
            for (int i = 1; i < sameShape.Length; i++)
            {
                int into = loopOf[ops.First(x => loopOf[x.Id] >= 0 && x.Shape.Equals(n.Shape)).Id], from = sameShape[i];
                if (from == into || DependsOn(loopDeps[from], into, loopDeps, alias, loops)
                    || DependsOn(loopDeps[into], from, loopDeps, alias, loops)) continue;
                foreach (var m in loops[from]) loopOf[m.Id] = into;
                loops[into].AddRange(loops[from]);
                loops[into].Sort((a, b) => a.Id.CompareTo(b.Id));
                loops[from].Clear();
                loopDeps[into].UnionWith(loopDeps[from]);
                loopDeps[from].Clear();
                alias[from] = into;
            }
            int join = -1;
            foreach (var x in ops)
            {
                int l = loopOf[x.Id];
                if (l < 0 || !x.Shape.Equals(n.Shape)) continue;
                if (ops.All(y => loopOf[y.Id] == l || !(DependsOn(reach[y.Id], l, loopDeps, alias, loops)
                    || (loopOf[y.Id] >= 0 && DependsOn([loopOf[y.Id]], l, loopDeps, alias, loops)))))
                { join = l; break; }
            }
            if (join < 0) { join = loops.Count; loops.Add([]); loopDeps.Add([]); alias.Add(join); }
            loops[join].Add(n);
            foreach (var y in ops)
                if (loopOf[y.Id] != join)
                {
                    loopDeps[join].UnionWith(reach[y.Id]); if (loopOf[y.Id] >= 0) loopDeps[join].Add(loopOf[y.Id]);
                }
            loopOf[n.Id] = join;
        }
        // A loop member is stored when an output or another kernel reads it (through a view or not).
        int Root(Node x) => viewOf[x.Id] >= 0 ? viewOf[x.Id] : x.Id;
        var readOutside = new bool[count];
        foreach (var o in graph.Outputs) readOutside[Root(o.Value)] = true;
        foreach (var (k, _) in kernels) foreach (var r in k.Reads) readOutside[Root(r)] = true;
        foreach (var members in loops)
        {
            var inLoop = members.Select(m => m.Id).ToHashSet();
            foreach (var m in members)
                foreach (var x in operands[m.Id])
                    if (!inLoop.Contains(x.Id)) readOutside[Root(x)] = true;
        }
        foreach (var members in loops.Where(l => l.Count > 0))
        {
            var fused = members.Select(m => new FusedOp(m, operands[m.Id], readOutside[m.Id])).ToArray();
            kernels.Add((new FusedLoop(members[0].Shape, fused), members[^1].Id));
        }
        return new Plan(graph, Order(kernels, count, viewOf, isOutput), storage, viewOf);
    }

    /// <summary>Whether a value depending on the loops <paramref name="direct"/> depends on loop
    /// <paramref name="target"/>, following what whole loops depend on (a loop runs as one unit, so it depends on every
    /// member's operands) and reading a merged loop's id as the loop it was merged into. Nodes are in topological
    /// order, so a loop whose last member comes before the target's first member cannot depend on it, nor can anything
    /// it depends on: the search stops there, and in a deep network it visits only the loops near the target.</summary>
    private static bool DependsOn(HashSet<int> direct, int target, List<HashSet<int>> loopDeps, List<int> alias,
        List<List<Node>> loops)
    {
        int Find(int l) { while (alias[l] != l) l = alias[l]; return l; }
        target = Find(target);
        int first = loops[target].Count > 0 ? loops[target][0].Id : -1;
        var seen = new HashSet<int>();
        var stack = new Stack<int>(direct);
        while (stack.Count > 0)
        {
            int l = Find(stack.Pop());
            if (l == target) return true;
            if (loops[l].Count > 0 && loops[l][^1].Id < first) continue;
            if (seen.Add(l)) foreach (var d in loopDeps[l]) stack.Push(d);
        }
        return false;
    }

    /// <summary>True for the ops a fused loop runs: those whose definition has a fused tile function (unary, binary,
    /// where and broadcast).</summary>
    public static bool IsElementwise(OpKind op) => Primitives.Of(op) is IFusedTile;

    /// <summary>Whether a fused loop can read slice <paramref name="n"/> in place: it cuts one axis of a stored value
    /// (so its elements are a block of every row: <c>Rewrite.Pieces.CutAxis</c>) and every reader is an elementwise
    /// op of its shape (the gates of an LSTM's pre-activations, a time step of a sequence).</summary>
    private static bool LoopSlice(Node n, List<Node> readers, Storage[] storage) =>
        n.Op == OpKind.Slice && Rewrite.Pieces.CutAxis(n) >= 0
        && storage[n.Inputs[0].Id] is Storage.Buffer or Storage.View
        && readers.Count > 0 && readers.All(c => IsElementwise(c.Op) && c.Shape.Equals(n.Shape));

    private static List<Node>[] Consumers(IReadOnlyList<Node> nodes, Node[][] operands, bool[] live)
    {
        var c = nodes.Select(_ => new List<Node>()).ToArray();
        foreach (var n in nodes)
            if (live[n.Id]) foreach (var x in operands[n.Id].Distinct()) c[x.Id].Add(n);
        return c;
    }

    /// <summary>x, or the input of a transpose that swaps the last two axes (and keeps the others), as a GEMM
    /// flag.</summary>
    private static (Node, bool) Unwrap(Node x)
    {
        if (x.Op != OpKind.Transpose) return (x, false);
        var p = x.Attrs.Perm!;
        int r = p.Length;
        if (r < 2 || p[r - 1] != r - 2 || p[r - 2] != r - 1) return (x, false);
        for (int i = 0; i < r - 2; i++) if (p[i] != i) return (x, false);
        return (x.Inputs[0], true);
    }

    /// <summary>The kernel of <paramref name="m"/>, with the add (and activation) after it as its epilogue unless
    /// an earlier product took that add already: in <c>matMul a b + matMul c d</c> the first product absorbs the
    /// add and reads the second as its bias, so the second must stay a plain product (found by the generated
    /// fused-vs-reference property: both absorbed it, and the second product was never computed).</summary>
    private static GemmKernel? MatchGemm(Node m, Node[][] operands, List<Node>[] consumers, bool[] isOutput,
        GemmKernel?[] claimed, bool[] absorbed)
    {
        Node a0 = operands[m.Id][0], b0 = operands[m.Id][1];
        if (a0.Shape.Rank < 2 || b0.Shape.Rank < 2) return null;
        bool shared = b0.Shape.Rank == 2;
        if (!shared && a0.Shape.Rank != b0.Shape.Rank) return null;
        var (a, ta) = Unwrap(a0);
        var (b, tb) = Unwrap(b0);
        if (shared && a0.Shape.Rank > 2 && ta) (a, ta) = (a0, false); // rows of a flattened A must be contiguous
        var plain = new GemmKernel(m, a, ta, b, tb, null, Activation.Identity, m, []);
        if (!shared || isOutput[m.Id] || consumers[m.Id] is not [{ Op: OpKind.Add } add]) return plain;
        if (claimed[add.Id] is not null || absorbed[add.Id]) return plain;
        var ops = operands[add.Id];
        var bias = ops[0] == m ? ops[1] : ops[0];
        if (ops[0] == ops[1] || !add.Shape.Equals(m.Shape)) return plain;
        var nDim = m.Shape[-1];
        bool rowVector = (bias.Shape.Rank == 1 && bias.Shape[0] == nDim)
            || (bias.Shape.Rank == 2 && bias.Shape[0].IsOne && bias.Shape[1] == nDim);
        if (!rowVector || !nDim.IsFixed) return plain;
        var withBias = plain with { Output = add, Bias = bias, Absorbed = [m] };
        if (isOutput[add.Id]) return withBias;
        var cs = consumers[add.Id];
        var act = cs.Where(c => Epilogue(c.Op) is not null).ToArray();
        if (act is not [var r]) return withBias;
        var steps = cs.Where(c => c != r).ToArray();
        bool ok = r.Op == OpKind.Relu
            ? steps.All(s => s.Op == OpKind.Step && s.Id > r.Id)
            : steps.Length == 0;
        if (!ok) return withBias;
        foreach (var s in steps) operands[s.Id] = [r];
        return withBias with { Output = r, Activation = Epilogue(r.Op)!.Value, Absorbed = [m, add] };
    }

    /// <summary>The GEMM epilogue that applies this op to a product's rows, when its definition has one.</summary>
    private static Activation? Epilogue(OpKind op) => (Primitives.Of(op) as UnaryPrimitive)?.Epilogue;

    /// <summary>The largest update (elements) run as soon as it is ready: 1 MiB of floats, one core's L2 (measured:
    /// 784-256-10 at batch 64, a 784×256 update, steps 5-10% faster early; 1024×1024 updates 1% slower).</summary>
    public const int EarlyElements = 1 << 18;

    private static bool CacheSized(Shape s)
    {
        long c = 1;
        for (int i = 0; i < s.Rank; i++) { if (!s[i].IsFixed) return false; c *= s[i].Size; }
        return c <= EarlyElements;
    }

    /// <summary>Kernels in dependency order (Kahn's algorithm, earliest anchor first among the ready ones), except that
    /// a terminal kernel, one whose stored values are all graph outputs no other kernel reads (an optimizer update),
    /// of fixed size up to <see cref="EarlyElements"/>, runs as soon as it is ready: right after the kernel that
    /// produced its last operand (a weight gradient), while that operand is still in cache. Larger updates stream
    /// through memory whenever they run, and running them between the backward products would evict the
    /// activations those products read next, so they keep their place at the end; except an SGD update the binder
    /// runs inside its weight gradient's product (see <c>SgdOfProduct</c>).</summary>
    private static List<PlanKernel> Order(List<(PlanKernel Kernel, int Anchor)> kernels, int count, int[] viewOf,
        bool[] isOutput)
    {
        int Root(int id) => viewOf[id] >= 0 ? viewOf[id] : id;
        var readByKernel = new bool[count];
        foreach (var (k, _) in kernels) foreach (var r in k.Reads) readByKernel[Root(r.Id)] = true;
        var producer = Enumerable.Repeat(-1, count).ToArray();
        for (int k = 0; k < kernels.Count; k++)
        {
            foreach (var w in kernels[k].Kernel.Writes) producer[w.Id] = k;
            if (kernels[k].Kernel is FusedLoop f) foreach (var o in f.Ops) producer[o.Node.Id] = k;
        }
        bool Terminal(PlanKernel k) => k.Writes.Count > 0
            && k.Writes.All(w => isOutput[w.Id] && !readByKernel[Root(w.Id)])
            && (k.Writes.All(w => CacheSized(w.Shape)) || SgdOfProduct(k));
        // An SGD update of a weight gradient a product writes, the weight a panel candidate: the binder runs it inside
        // that product (GemmUpdate) when the weight is stored in panels, so it goes right after it, whatever its size.
        bool SgdOfProduct(PlanKernel k) => k is FusedLoop f && WeightLayout.Candidate(f.Domain)
            && SgdForm.Match(f, x => x.Shape.IsOne, x => x.Shape.Equals(f.Domain)) is { } sgd
            && Producer(sgd.G.Id) is var p && p >= 0 && kernels[p].Kernel is GemmKernel;
        (int, int) Priority(int k) => (Terminal(kernels[k].Kernel) ? 0 : 1, kernels[k].Anchor);
        var deps = new int[kernels.Count];
        var next = kernels.Select(_ => new List<int>()).ToArray();
        for (int k = 0; k < kernels.Count; k++)
            foreach (var x in kernels[k].Kernel.Reads.Select(r => r.Id).Distinct())
                if (Producer(x) is var p && p >= 0 && p != k) { deps[k]++; next[p].Add(k); }
        int Producer(int id) => producer[viewOf[id] >= 0 ? viewOf[id] : id];
        var ready = new PriorityQueue<int, (int, int)>();
        for (int k = 0; k < kernels.Count; k++) if (deps[k] == 0) ready.Enqueue(k, Priority(k));
        var order = new List<PlanKernel>();
        while (ready.TryDequeue(out var k, out _))
        {
            order.Add(kernels[k].Kernel);
            foreach (var c in next[k]) if (--deps[c] == 0) ready.Enqueue(c, Priority(c));
        }
        if (order.Count != kernels.Count) throw Throw.Bug("the fusion plan has a cycle");
        return order;
    }
}
