using Nn.Runtime.Data;
using Nn.Runtime.Engine.Lowering;
using Nn.Runtime.Engine.Planning;
using Nn.Runtime.IR;
using Nn.Runtime.Training;

namespace Nn.Runtime.Engine;

/// <summary>
/// A plan bound for one set of fed shapes (one batch size), with the slots of its sources and of its <c>new:</c>
/// outputs looked up once, so pointing the sources and committing the updates per step costs a few stores.
/// </summary>
internal sealed class Binding
{
    private int[][] _featureShapes = [];
    private int[] _targetShape = [];
    private int[] _dataSlots = [];
    private int _targetSlot = -1;
    private (int Slot, string Name)[] _sources = [];
    private (int Slot, string Name, bool Swap)[] _updates = [];
    private readonly Dictionary<string, int> _scalars = [];

    public required BoundProgram Program { get; init; }

    /// <summary>Binds <paramref name="plan"/> for these feeds: <paramref name="inputs"/>[i] feeds the data Input
    /// named <paramref name="names"/>[i] (an Input the optimized graph no longer reads is skipped).</summary>
    public static Binding Create(FusedExecutor owner, Plan plan, string[] names, IReadOnlyList<HostTensor> inputs,
        HostTensor? target, StepContext step, string role)
    {
        var g = plan.Graph;
        var dims = new Dictionary<string, int>();
        Node? tgt = null;
        var data = new Node?[names.Length];
        foreach (var i in g.Inputs)
        {
            if (i.Name == TrainStep.TargetInput) { tgt = i; if (target is not null) Match(i, target.Shape, dims); }
            else if (i.Name is not (TrainStep.LrInput or TrainStep.StepInput))
            {
                int k = Array.IndexOf(names, i.Name);
                if (k < 0) throw new ArgumentException($"the graph has an Input `{i.Name}` that no data feeds");
                data[k] = i; Match(i, inputs[k].Shape, dims);
            }
        }
        string label = inputs.Count > 0 && inputs[0].Shape.Length > 0 ? $"{role} at batch {inputs[0].Shape[0]}" : role;
        var program = Binder.Bind(plan, dims, owner.Options.Threads, owner.Options.CheckFinite, step,
            owner.Options.PredictOnly, label);
        var b = new Binding
        {
            Program = program, _featureShapes = inputs.Select(x => (int[])x.Shape.Clone()).ToArray(),
            _targetShape = target is null ? [] : (int[])target.Shape.Clone()
        };
        int SlotOf(Node n) => program.SlotOf[n.Id];
        b._dataSlots = data.Select(d => d is null ? -1 : SlotOf(d)).ToArray();
        if (tgt is not null && SlotOf(tgt) >= 0) b._targetSlot = SlotOf(tgt);
        foreach (var i in g.Inputs)
            if (i.Name is TrainStep.LrInput or TrainStep.StepInput && SlotOf(i) >= 0) b._scalars[i.Name] = SlotOf(i);
        b._sources = g.Nodes.Where(n => n.Op is OpKind.Param or OpKind.State && SlotOf(n) >= 0)
            .Select(n => (SlotOf(n), n.Name!)).ToArray();
        var swapped = new HashSet<int>();
        var updates = new List<(int, string, bool)>();
        foreach (var (name, node) in g.Outputs)
        {
            if (!name.StartsWith(TrainStep.NewPrefix, StringComparison.Ordinal)) continue;
            var target0 = name[TrainStep.NewPrefix.Length..];
            if (node.IsSource && node.Name == target0) continue; // unchanged
            int slot = SlotOf(node);
            bool swap = !node.IsSource && plan.Storage[node.Id] != Storage.Constant && swapped.Add(slot);
            updates.Add((slot, target0, swap));
        }
        b._updates = updates.ToArray();
        return b;
    }

    private static void Match(Node input, int[] fed, Dictionary<string, int> dims)
    {
        var s = input.Shape;
        string Bad(string why) =>
            $"the input `{input.Name}` should have shape {s} but was given {HostTensor.FormatShape(fed)}{why}";
        if (s.Rank != fed.Length) throw Throw.Exec(RuntimeCodes.FeedShape, Bad(""), input);
        for (int i = 0; i < fed.Length; i++)
        {
            var d = s[i];
            if (d.IsFixed)
            {
                if (d.Size != fed[i]) throw Throw.Exec(RuntimeCodes.FeedShape, Bad($" (axis {i})"), input);
            }
            else if (dims.TryGetValue(d.Symbol!, out var v))
            {
                if (v != fed[i]) throw Throw.Exec(RuntimeCodes.FeedShape, Bad($" (`{d.Symbol}` is {v})"), input);
            }
            else dims[d.Symbol!] = fed[i];
        }
    }

    public bool Matches(IReadOnlyList<HostTensor> inputs, HostTensor? target)
    {
        for (int i = 0; i < _featureShapes.Length; i++)
            if (!inputs[i].Shape.AsSpan().SequenceEqual(_featureShapes[i])) return false;
        return target is null
                ? _targetShape.Length == 0 || _targetSlot < 0
                : target.Shape.AsSpan().SequenceEqual(_targetShape);
    }

    /// <summary>Points the source slots at the current values and the fed arrays (no copy).</summary>
    public void Point(Dictionary<string, float[]> values, IReadOnlyList<HostTensor> inputs, HostTensor? target)
    {
        var slots = Program.Slots;
        for (int i = 0; i < _dataSlots.Length; i++)
            if (_dataSlots[i] >= 0) slots[_dataSlots[i]] = inputs[i].Data;
        if (_targetSlot >= 0)
            slots[_targetSlot] = (target ?? throw new ArgumentException(
                "this network is trained with a fed target, but the data has none")).Data;
        foreach (var (slot, name) in _sources) slots[slot] = values[name];
    }

    public void Set(string scalar, float value)
    {
        if (_scalars.TryGetValue(scalar, out var slot)) Program.Slots[slot][0] = value;
    }

    public double Read(Node n) => Program.Slots[Program.Slot(n)][0];

    /// <summary>Every element of a small output (a metric's statistics), in row-major order.</summary>
    public double[] ReadAll(Node n)
    {
        var slot = Program.Slots[Program.Slot(n)];
        var values = new double[NodeKernels.Count(Program.Shapes[n.Id])];
        for (int i = 0; i < values.Length; i++) values[i] = slot[i];
        return values;
    }

    /// <summary>Makes every <c>new:</c> output the current value: swaps arrays (no copy) or copies where an output is
    /// shared.</summary>
    public void Commit(Dictionary<string, float[]> values)
    {
        var slots = Program.Slots;
        foreach (var (slot, name, swap) in _updates)
        {
            var old = values[name];
            if (swap) { values[name] = slots[slot]; slots[slot] = old; }
            else Array.Copy(slots[slot], old, old.Length);
        }
    }
}
