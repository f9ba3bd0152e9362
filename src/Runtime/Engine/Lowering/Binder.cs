using Nn.Runtime.Engine.Memory;
using Nn.Runtime.Engine.Planning;
using Nn.Runtime.IR;
using Nn.Runtime.Kernels;
using Nn.Runtime.Training;
using Nn.Runtime.Util;

namespace Nn.Runtime.Engine.Lowering;

/// <summary>
/// A plan bound to concrete sizes: every buffer allocated (pooled slots from <see cref="BufferAssigner"/>, constants
/// filled once), every kernel a closure over the slot table. <see cref="Run()"/> calls them in order and allocates
/// nothing. Sources (Inputs, Params, States) get slots whose arrays the caller points at its values before a run.
/// </summary>
internal sealed class BoundProgram
{
    public required Plan Plan { get; init; }
    public required float[][] Slots { get; init; }
    public required int[] SlotOf { get; init; }
    public required int[][] Shapes { get; init; }
    public required Action[] Steps { get; init; }
    public required FusedLoopRunner[] Loops { get; init; }
    public required UpdateRunner[] Updates { get; init; }
    /// <summary>Graph outputs no fused loop checks while storing them: (slot, element count).</summary>
    public required (int Slot, int Count)[] Unchecked { get; init; }
    public required BufferAssignment Buffers { get; init; }
    /// <summary>SGD updates run inside their weight gradient's product (their own step does nothing).</summary>
    public int UpdatesInProducts { get; init; }
    /// <summary>Pairs of small independent kernels that run at once, one per thread (<see cref="KernelPairs"/>).
    /// </summary>
    public int Pairs { get; init; }
    /// <summary>Values stored as column bands (<see cref="ColumnBands"/>).</summary>
    public int Banded { get; init; }
    /// <summary>Runs of kernels over column bands bound as one job (<see cref="BandChains"/>).</summary>
    public int Chains { get; init; }

    /// <summary>Chooses between one thread and several step by step (<see cref="WorkerPool.Adaptive"/>); null runs
    /// every split on the threads bound.</summary>
    public StepThreads? Chooser { get; init; }
    /// <summary>Times every kernel of every run (<c>NN_TIMINGS=kernels</c>); null runs them untimed.</summary>
    public KernelClock? Clock { get; init; }
    private Action? _runSteps;

    public void Run()
    {
        if (Chooser is { } c) c.Run(_runSteps ??= RunSteps);
        else RunSteps();
    }

    private void RunSteps()
    {
        var steps = Steps;
        if (Clock is { } clock) { clock.Run(steps); return; }
        for (int i = 0; i < steps.Length; i++) steps[i]();
    }

    /// <summary><see cref="Run()"/>, calling <paramref name="afterKernel"/> with i after kernel i.</summary>
    public void Run(Action<int> afterKernel)
    {
        var steps = Steps;
        for (int i = 0; i < steps.Length; i++)
        {
            steps[i]();
            afterKernel(i);
        }
    }

    /// <summary>True when a checked output holds NaN or infinity after <see cref="Run()"/>.</summary>
    public bool SawNonFinite()
    {
        foreach (var l in Loops) if (l.SawNonFinite) return true;
        foreach (var u in Updates) if (u.SawNonFinite) return true;
        foreach (var (slot, count) in Unchecked) if (!ElementOps.AllFinite(Slots[slot].AsSpan(0, count))) return true;
        return false;
    }

    /// <summary>The slot of a node's value.</summary>
    public int Slot(Node n) => SlotOf[n.Id];
}

/// <summary>Binds a plan to concrete dimension sizes.</summary>
internal static class Binder
{
    /// <summary>True binds every SGD update as its own pass on this thread, never inside its weight gradient's product
    /// (A/B benchmarks and tests).</summary>
    [ThreadStatic] internal static bool UpdateInProductOff;

    /// <summary>Binds the plan; <paramref name="skipZeroColumns"/>: products reading a finite Param or State as B skip
    /// A's zero columns (<see cref="BindContext.SkipZeroColumns"/>; the predict-only executor's).</summary>
    public static BoundProgram Bind(Plan plan, IReadOnlyDictionary<string, int> dims, int threads, bool checkFinite,
        StepContext step, bool skipZeroColumns = false, string label = "a program")
    {
        var g = plan.Graph;
        int n = g.Nodes.Count;
        var shapes = new int[n][];
        var counts = new long[n];
        foreach (var node in g.Nodes)
        {
            if (node.Shape.Symbols.All(dims.ContainsKey)) shapes[node.Id] = node.Shape.Resolve(dims);
            else shapes[node.Id] = [];
            counts[node.Id] = NodeKernels.Count(shapes[node.Id]);
        }
        var buffers = BufferAssigner.Assign(plan, counts);
        var slots = new List<float[]>();
        foreach (var size in buffers.SlotSizes) slots.Add(Pages.ZeroedForThreads<float>(size, threads));
        var slotOf = (int[])buffers.SlotOf.Clone();
        // Constants that some kernel reads as a buffer (fused loops read them as values) or that are outputs.
        var bufferReads = plan.Kernels.Where(k => k is not FusedLoop).SelectMany(k => k.Reads)
            .Concat(g.Outputs.Select(o => o.Value));
        foreach (var c in bufferReads.Distinct())
            if (plan.Storage[c.Id] == Storage.Constant && slotOf[c.Id] < 0)
            {
                slotOf[c.Id] = slots.Count;
                var arr = new float[counts[c.Id]];
                Array.Fill(arr, ConstantValue(c));
                slots.Add(arr);
            }
        foreach (var src in g.Nodes.Where(x => x.IsSource && x.Op != OpKind.Const
            && plan.Storage[x.Id] != Storage.None))
        {
            // Sources are pointed at their values and the fed arrays before every run (Binding.Point,
            // GraphRunner.Compile): no array of their own (2.9 MB of fresh pages per binding of nn predict's network),
            // but for the scalars a step writes into. A run that read one unpointed would fail, not read zeros.
            slotOf[src.Id] = slots.Count;
            bool written = src.Op == OpKind.Input && src.Name is TrainStep.LrInput or TrainStep.StepInput;
            slots.Add(written ? new float[counts[src.Id]] : []);
        }
        for (int id = 0; id < n; id++)
            if (plan.ViewOf[id] >= 0) slotOf[id] = slotOf[plan.ViewOf[id]];
        var table = slots.ToArray();

        long workspace = 0;
        foreach (var k in plan.Kernels.OfType<NodeKernel>())
            workspace = Math.Max(workspace, NodeKernels.WorkspaceLength(k.Node, shapes[k.Node.Id],
                k.Operands.Select(o => shapes[o.Id]).ToArray()));
        var ws = Pages.Zeroed<float>(workspace);
        var banded = ColumnBands.Mark(plan, shapes, threads);
        var ctx = new BindContext(table, x => slotOf[x.Id] >= 0 ? slotOf[x.Id] : throw Throw.Bug($"{x} has no buffer"),
            x => shapes[x.Id], threads, _ => ws, step)
        { Panels = x => plan.Panels[x.Id], SkipZeroColumns = skipZeroColumns, Banded = x => banded[x.Id] };

        var isOutput = new bool[n];
        foreach (var o in g.Outputs) isOutput[o.Value.Id] = true;
        var steps = new List<Action>();
        var loops = new List<FusedLoopRunner>();
        var updates = new List<UpdateRunner>();
        var checkedOutputs = new HashSet<int>();
        var fixedSteps = new bool[plan.Kernels.Count];
        int inProducts = 0;
        var readers = new int[n];
        foreach (var k in plan.Kernels)
            foreach (var r in k.Reads.Distinct()) readers[plan.ViewOf[r.Id] >= 0 ? plan.ViewOf[r.Id] : r.Id]++;
        var chainable = new BandChains.Kernel?[plan.Kernels.Count];
        var streamed = StreamedStores.Of(plan, counts, threads);
        for (int id = 0; id < n; id++) streamed[id] &= !banded[id];
        for (int ki = 0; ki < plan.Kernels.Count; ki++)
        {
            var k = plan.Kernels[ki];
            // A weight gradient in panel layout read only by the SGD update right after it: one kernel, the update
            // applied to the product's tiles (GemmUpdate), the gradient never stored.
            if (!UpdateInProductOff && k is GemmKernel wg && plan.Panels[wg.Output.Id] && !isOutput[wg.Output.Id]
                && readers[wg.Output.Id] == 1
                && ki + 1 < plan.Kernels.Count && plan.Kernels[ki + 1] is FusedLoop next
                && UpdateKernels.TryBuild(next, table, slotOf, shapes, counts, isOutput, checkFinite, threads)
                    is { } inProduct
                && inProduct.Gradient == slotOf[wg.Output.Id])
            {
                updates.Add(inProduct);
                steps.Add(GemmKernels.Build(wg, ctx, inProduct, out var wgBand));
                steps.Add(static () => { }); // the update's own place, so steps stay one per plan kernel (profiles)
                if (wgBand is not null && inProduct.Halves)
                {
                    // the update's weights by the same halves as the product's columns (panel layout)
                    var halves = wgBand.Halves.Concat(FullLength(next, counts)).ToHashSet();
                    chainable[ki] = wgBand with { Halves = halves };
                    chainable[ki + 1] = new BandChains.Kernel(static _ => { }, halves);
                }
                fixedSteps[ki] = fixedSteps[ki + 1] = true;
                inProducts++;
                foreach (var op in next.Ops) if (op.Store && isOutput[op.Node.Id]) checkedOutputs.Add(op.Node.Id);
                ki++;
                continue;
            }
            switch (k)
            {
                case FusedLoop loop
                    when UpdateKernels.TryBuild(loop, table, slotOf, shapes, counts, isOutput, checkFinite, threads)
                        is { } update:
                    updates.Add(update);
                    steps.Add(update.Run);
                    if (threads == ColumnBands.Count && update.Halves)
                        chainable[ki] = new BandChains.Kernel(i => update.Execute(i, ColumnBands.Count),
                            FullLength(loop, counts).ToHashSet(), update.Clear);
                    foreach (var op in loop.Ops) if (op.Store && isOutput[op.Node.Id]) checkedOutputs.Add(op.Node.Id);
                    break;
                case FusedLoop loop:
                    var runner = BuildLoop(loop, ctx, slotOf, shapes, counts, isOutput, checkFinite, streamed);
                    loops.Add(runner);
                    steps.Add(runner.Run);
                    if (runner.Banded)
                        chainable[ki] = new BandChains.Kernel(i => runner.Execute(i, ColumnBands.Count),
                            loop.Reads.Concat(loop.Writes).Where(x => banded[x.Id]).ToHashSet(), runner.Clear);
                    foreach (var op in loop.Ops) if (op.Store && isOutput[op.Node.Id]) checkedOutputs.Add(op.Node.Id);
                    break;
                case GemmKernel gk:
                    steps.Add(GemmKernels.Build(gk, ctx, null, out chainable[ki]));
                    break;
                case NodeKernel nk:
                    steps.Add(NodeKernels.Build(nk.Node, nk.Operands, ctx, out chainable[ki]));
                    break;
            }
        }
        var program = steps.ToArray();
        int chains = threads == ColumnBands.Count
            ? BandChains.Bind(plan, program, fixedSteps, chainable, slotOf, counts) : 0;
        // a kernel of banded values splits by its bands: never one of a pair (which would run it on one thread)
        for (int ki = 0; ki < plan.Kernels.Count; ki++)
            if (plan.Kernels[ki].Reads.Concat(plan.Kernels[ki].Writes).Any(x => banded[x.Id])) fixedSteps[ki] = true;
        int pairs = KernelPairs.Bind(plan, program, fixedSteps, slotOf, shapes, counts, threads);
        var uncheckedOutputs = checkFinite
            ? g.Outputs.Select(o => o.Value).Distinct()
                .Where(v => !checkedOutputs.Contains(v.Id) && !v.IsSource && plan.Storage[v.Id] != Storage.Constant)
                .Select(v => (slotOf[v.Id], (int)counts[v.Id])).ToArray()
            : [];
        return new BoundProgram
        {
            Plan = plan, Slots = table, SlotOf = slotOf, Shapes = shapes, Steps = program, Pairs = pairs,
            Banded = banded.Count(b => b), Chains = chains,
            Loops = loops.ToArray(), Updates = updates.ToArray(),
            Unchecked = uncheckedOutputs, Buffers = buffers, UpdatesInProducts = inProducts,
            Chooser = threads > 1 && (WorkerPool.Shared.Adaptive || StepThreads.Always) ? new StepThreads() : null,
            Clock = KernelClock.For(plan, label),
        };
    }

    /// <summary>The values of an update loop as long as the loop (its scalars are read whole).</summary>
    private static IEnumerable<Node> FullLength(FusedLoop loop, long[] counts)
    {
        long length = counts[loop.Ops[0].Node.Id];
        return loop.Reads.Concat(loop.Writes).Where(x => counts[x.Id] == length);
    }

    /// <summary>Whether a node is a constant (a Const, or a Reshape of one).</summary>
    internal static bool IsConstant(Node c)
    {
        while (c.Op == OpKind.Reshape) c = c.Inputs[0];
        return c.Op == OpKind.Const;
    }

    /// <summary>The value of a constant (a Const, or a Reshape of one).</summary>
    public static float ConstantValue(Node c)
    {
        while (c.Op == OpKind.Reshape) c = c.Inputs[0];
        return (float)c.Attrs.Value;
    }

    private static FusedLoopRunner BuildLoop(FusedLoop loop, BindContext ctx, int[] slotOf, int[][] shapes,
        long[] counts, bool[] isOutput, bool checkFinite, bool[] streamed)
    {
        var domain = shapes[loop.Ops[0].Node.Id];
        int length = (int)counts[loop.Ops[0].Node.Id];
        int registers = 0;
        var where = new Dictionary<int, Operand>(); // member id → its location
        var gathers = new List<GatherSpec>();
        var gatherOf = new Dictionary<int, int>();
        Operand Locate(Node x)
        {
            if (where.TryGetValue(x.Id, out var loc)) return loc;
            if (slotOf[x.Id] < 0)
                return IsConstant(x)
                    ? new Operand { Kind = Access.Constant, Value = ConstantValue(x) }
                    : throw Throw.Bug($"{x} has no buffer");
            var sx = shapes[x.Id];
            long cx = counts[x.Id];
            if (cx == length && Aligned(sx, domain)) return new Operand { Kind = Access.Full, Index = slotOf[x.Id] };
            if (cx == 1) return new Operand { Kind = Access.BufferScalar, Index = slotOf[x.Id] };
            if (!gatherOf.TryGetValue(x.Id, out var reg))
            {
                reg = registers++;
                gathers.Add(Gather(sx, domain, slotOf[x.Id], reg));
                gatherOf[x.Id] = reg;
            }
            return new Operand { Kind = Access.Register, Index = reg };
        }
        var code = new List<Instr>();
        foreach (var op in loop.Ops)
        {
            if (op.Node.Op == OpKind.Slice)
            {
                // read in place, a block of each row of the sliced value, into a register (copied out if stored)
                int reg = registers++;
                gathers.Add(SliceGather(op.Node, shapes[op.Operands[0].Id], slotOf[op.Operands[0].Id], reg));
                var from = new Operand { Kind = Access.Register, Index = reg };
                if (op.Store)
                {
                    code.Add(new Instr
                    {
                        Op = OpKind.Broadcast, A = from, Store = true, Dst = slotOf[op.Node.Id],
                        Check = checkFinite && isOutput[op.Node.Id],
                    });
                    from = new Operand { Kind = Access.Full, Index = slotOf[op.Node.Id] };
                }
                where[op.Node.Id] = from;
                continue;
            }
            var ins = new Instr { Op = op.Node.Op, Alpha = (float)op.Node.Attrs.Value, Store = op.Store };
            var ops = op.Operands;
            ins.A = Locate(ops[0]);
            if (ops.Length > 1) ins.B = Locate(ops[1]);
            if (ops.Length > 2) ins.C = Locate(ops[2]);
            if (op.Store)
            {
                ins.Dst = slotOf[op.Node.Id];
                ins.Check = checkFinite && isOutput[op.Node.Id];
                ins.Stream = streamed[op.Node.Id];
                where[op.Node.Id] = new Operand { Kind = Access.Full, Index = ins.Dst };
            }
            else
            {
                ins.Dst = registers++;
                where[op.Node.Id] = new Operand { Kind = Access.Register, Index = ins.Dst };
            }
            code.Add(ins);
        }
        // a loop over banded values splits at the bands, whatever its length (each thread's band is in its core)
        bool bands = loop.Ops.Any(o => ctx.Banded(o.Node) || o.Operands.Any(ctx.Banded));
        return new FusedLoopRunner(ctx.Slots, code.ToArray(), gathers.ToArray(), registers, length, ctx.Threads,
            bands ? ColumnBands.Count : domain.Length >= 2 ? domain[0] : 0, bands);
    }

    /// <summary>Same elements in the same order: equal shapes once leading 1s are ignored.</summary>
    private static bool Aligned(int[] a, int[] b) => a.SkipWhile(d => d == 1).SequenceEqual(b.SkipWhile(d => d == 1));

    /// <summary>The gather of a slice that cuts one axis k of a value of shape <paramref name="sx"/>: element i of the
    /// slice is element i mod run of row i / run, rows <c>stride</c> apart from <c>offset</c> (run and stride count
    /// the elements of axis k and after it).</summary>
    private static GatherSpec SliceGather(Node slice, int[] sx, int slot, int reg)
    {
        if (slot < 0) throw Throw.Bug($"{slice.Inputs[0]} has no buffer");
        var (starts, stops) = slice.Attrs.Slice!;
        int k = Rewrite.Pieces.CutAxis(slice);
        if (k < 0) throw Throw.Bug($"{slice} does not cut one axis");
        int inner = 1;
        for (int i = k + 1; i < sx.Length; i++) inner *= sx[i];
        int stop = stops[k] == -1 ? sx[k] : stops[k];
        return new GatherSpec
        {
            Slot = slot, Register = reg, Kind = 3, Length = (stop - starts[k]) * inner, Repeat = sx[k] * inner,
            Offset = starts[k] * inner,
        };
    }

    private static GatherSpec Gather(int[] sx, int[] domain, int slot, int reg)
    {
        var padded = new int[domain.Length];
        for (int i = 0; i < domain.Length; i++)
        {
            int j = i - (domain.Length - sx.Length); padded[i] = j >= 0 ? sx[j] : 1;
        }
        int cx = NodeKernels.Count(sx), total = NodeKernels.Count(domain);
        int firstFull = Array.FindIndex(padded, d => d != 1);
        bool row = firstFull >= 0
            && Enumerable.Range(firstFull, domain.Length - firstFull).All(i => padded[i] == domain[i]);
        if (row) return new GatherSpec { Slot = slot, Register = reg, Kind = 0, Length = cx };
        int lastFull = Array.FindLastIndex(padded, d => d != 1);
        bool column = Enumerable.Range(0, lastFull + 1).All(i => padded[i] == domain[i]);
        if (column) return new GatherSpec { Slot = slot, Register = reg, Kind = 1, Repeat = total / cx };
        var map = RowMajor.SourceIndex(sx, domain);
        return new GatherSpec { Slot = slot, Register = reg, Kind = 2, Map = map };
    }
}
