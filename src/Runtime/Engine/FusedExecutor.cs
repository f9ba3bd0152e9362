using Nn.Runtime.Data;
using Nn.Runtime.Engine.Lowering;
using Nn.Runtime.Engine.Planning;
using Nn.Runtime.IR;
using Nn.Runtime.Kernels;
using Nn.Runtime.Training;
using Nn.Runtime.Util;

namespace Nn.Runtime.Engine;

/// <summary>
/// <see cref="IStepExecutor"/> on planned, fused float32 kernels. The training, evaluation and prediction graphs are
/// simplified (<see cref="Rewrite.Passes.Optimize(Graph)"/>) and planned once (<see cref="Planner"/>); a plan is bound
/// to buffers once per batch size (an epoch's smaller last batch gets a second binding, kept alongside: no padding,
/// so results equal the reference's), after which a step allocates nothing. Params and States live in arrays owned
/// here; a step writes their new values into separate output buffers and then swaps arrays, so a step that fails the
/// non-finite check leaves them unchanged. The check reads the loss and every updated value as it is stored; on a
/// failure the step is replayed on the reference interpreter to name the first node that produced NaN or infinity.
/// </summary>
internal sealed class FusedExecutor : IStepExecutor, IGradientStream
{
    private readonly StepGraphs _g;
    private readonly ExecutorOptions _options;
    private readonly Dictionary<string, float[]> _values = [];
    private readonly Dictionary<string, int[]> _shapes = [];
    private readonly Mode? _trainMode, _evalMode;
    private readonly Mode _predict;
    private readonly StepContext _step = new();
    private readonly string[] _inputs;
    private readonly NonFiniteReplay? _replay;

    /// <summary>Plans the three graphs (only the prediction graph with <see cref="ExecutorOptions.PredictOnly"/>) and
    /// takes the initial Param and State values. <paramref name="replay"/> names the node of a step that went
    /// non-finite (<c>Executors.StepExecutor.Create</c> passes the reference interpreter's); without it the first
    /// non-finite output is named.</summary>
    /// <exception cref="ArgumentException">when the network has no data Input, or a value is missing</exception>
    public FusedExecutor(StepGraphs graphs, IReadOnlyDictionary<string, HostTensor> initial,
        ExecutorOptions? options = null, NonFiniteReplay? replay = null)
    {
        _g = graphs;
        _replay = replay;
        _options = options ?? new ExecutorOptions();
        if (_options.Threads < 1) throw new ArgumentException($"`Threads` must be at least 1, got {_options.Threads}");
        bool all = !_options.PredictOnly;
        _inputs = all ? graphs.CheckExecutable(initial) : graphs.CheckPredictable(initial);
        var held = all ? graphs.Params.Concat(graphs.States) : graphs.Predict.Params.Concat(graphs.Predict.States);
        foreach (var n in held)
            _shapes[n.Name!] = n.Shape.Resolve(new Dictionary<string, int>());
        if (all)
        {
            _trainMode = new Mode(this, graphs.Train, true, "the training step");
            _evalMode = new Mode(this, graphs.Eval, false, "the evaluation");
        }
        _predict = new Mode(this, graphs.Predict, false, "the forward pass");
        Mode[] modes = all ? [_trainMode!, _evalMode!, _predict] : [_predict];
        _panels = PanelsOff || !WeightLayout.Pays
            ? new HashSet<string>()
            : WeightLayout.Choose(modes.Select(m => m.Plan).ToArray());
        foreach (var m in modes) m.UsePanels(_panels);
        Load(initial);
    }

    /// <summary>The training step's mode (none when the executor only predicts).</summary>
    private Mode TrainMode => _trainMode ?? throw OnlyPredicts();
    /// <summary>The evaluation's mode (none when the executor only predicts).</summary>
    private Mode EvalMode => _evalMode ?? throw OnlyPredicts();
    private static Exception OnlyPredicts() =>
        Throw.Bug("this executor was created to predict only (ExecutorOptions.PredictOnly)");

    /// <summary>The Params and States held in panel layout (<see cref="WeightLayout"/>): converted on the way in
    /// (<see cref="Load"/>) and out (<see cref="Snapshot"/>).</summary>
    private readonly IReadOnlySet<string> _panels;

    /// <summary>True keeps every value row-major in executors created on this thread (A/B benchmarks and
    /// tests).</summary>
    [ThreadStatic] internal static bool PanelsOff;

    /// <summary>The training step's plan (for <c>nn graph --plan</c> and tests).</summary>
    public Plan TrainPlan => TrainMode.Plan;
    /// <summary>How many SGD updates the training step bound for these feeds runs inside their weight gradient's
    /// product.</summary>
    internal int UpdatesInProducts(HostTensor features, HostTensor? target) =>
        TrainMode.Prepare([features], target).Program.UpdatesInProducts;

    /// <summary>How many values the training step bound for this batch stores as column bands (tests).</summary>
    internal int Banded(HostTensor features, HostTensor? target) =>
        TrainMode.Prepare([features], target).Program.Banded;

    /// <summary>How many runs of kernels over column bands the training step bound for this batch runs as one job
    /// each (tests).</summary>
    internal int Chains(HostTensor features, HostTensor? target) =>
        TrainMode.Prepare([features], target).Program.Chains;

    /// <summary>How many pairs of small kernels the training step bound for these feeds runs at once
    /// (<see cref="KernelPairs"/>).</summary>
    internal int PairsBound(HostTensor features, HostTensor? target) =>
        TrainMode.Prepare([features], target).Program.Pairs;

    /// <summary>The training step's fused-loop stores written with non-temporal stores when bound for these inputs
    /// (<see cref="StreamedStores"/>), for tests.</summary>
    internal int StreamedStoreCount(HostTensor features, HostTensor? target) =>
        TrainMode.Prepare([features], target).Program.Loops.Sum(l => l.StreamedStoreCount);

    /// <summary>The evaluation graph's plan.</summary>
    public Plan EvalPlan => EvalMode.Plan;
    /// <summary>The options this executor runs with.</summary>
    public ExecutorOptions Options => _options;

    /// <inheritdoc />
    public void Load(IReadOnlyDictionary<string, HostTensor> values)
    {
        foreach (var (name, v) in values)
        {
            var shape = LoadedValues.Check(_shapes, name, v);
            if (_panels.Contains(name))
            {
                var stored = Pages.UninitializedForThreads<float>(v.Data.Length, _options.Threads); // all written
                GemmPanels.FromRowMajor(v.Data, shape[0], shape[1], stored);
                _values[name] = stored;
            }
            else
            {
                var copy = Pages.UninitializedForThreads<float>(v.Data.Length, _options.Threads);
                v.Data.AsSpan().CopyTo(copy);
                _values[name] = copy;
            }
        }
    }

    /// <inheritdoc />
    public Dictionary<string, HostTensor> Snapshot() =>
        _values.ToDictionary(kv => kv.Key, kv => new HostTensor((int[])_shapes[kv.Key].Clone(), RowMajor(kv.Key)));

    /// <inheritdoc />
    /// <remarks>Reads each value into its tensor (<see cref="Read"/>): no allocation.</remarks>
    public Dictionary<string, HostTensor> SnapshotInto(Dictionary<string, HostTensor> into)
    {
        if (into.Count != _values.Count) throw Throw.Bug("a snapshot of other values");
        foreach (var name in _values.Keys) Read(name, into[name].Data);
        return into;
    }

    /// <summary>The row-major index of element <paramref name="i"/> of an r×c matrix held in panel layout.</summary>
    private static int RowMajorIndex(int[] shape, int i)
    {
        int rows = shape[0], panel = i / (rows * GemmPanels.Width), rest = i % (rows * GemmPanels.Width);
        return rest / GemmPanels.Width * shape[1] + panel * GemmPanels.Width + rest % GemmPanels.Width;
    }

    /// <summary>A copy of a value in row-major order, whatever layout it is held in.</summary>
    private float[] RowMajor(string name)
    {
        var v = _values[name];
        if (!_panels.Contains(name)) return (float[])v.Clone();
        var shape = _shapes[name];
        var plain = new float[v.Length];
        GemmPanels.ToRowMajor(v, shape[0], shape[1], plain);
        return plain;
    }

    /// <inheritdoc />
    public void Read(string name, Span<float> destination)
    {
        var v = _values[name];
        if (!_panels.Contains(name)) { v.AsSpan().CopyTo(destination); return; }
        var shape = _shapes[name];
        GemmPanels.ToRowMajor(v, shape[0], shape[1], destination);
    }

    /// <inheritdoc />
    public void SkipRows(int rows) => _step.RowOffset = rows;

    /// <inheritdoc />
    public void UseRanks(IRankSum? ranks) => _step.Ranks = ranks;

    /// <inheritdoc />
    /// <remarks>Copies into the array that holds the value (no allocation).</remarks>
    public void Assign(string name, HostTensor value)
    {
        if (!_shapes.TryGetValue(name, out var shape) || !shape.SequenceEqual(value.Shape))
        {
            Load(new Dictionary<string, HostTensor> { [name] = value }); // its errors
            return;
        }
        if (_panels.Contains(name)) GemmPanels.FromRowMajor(value.Data, shape[0], shape[1], _values[name]);
        else value.Data.AsSpan().CopyTo(_values[name]);
    }

    /// <inheritdoc />
    public BatchResult Step(IReadOnlyList<HostTensor> inputs, HostTensor? target, double lr, long step, ulong seed) =>
        Step(inputs, target, lr, step, seed, null);

    /// <inheritdoc />
    public BatchResult Step(IReadOnlyList<HostTensor> inputs, HostTensor? target, double lr, long step, ulong seed,
        Action<int>? afterKernel)
    {
        var p = TrainMode.Prepare(inputs, target);
        _step.Seed = seed; _step.Step = step;
        p.Set(TrainStep.LrInput, (float)lr);
        p.Set(TrainStep.StepInput, step);
        if (afterKernel is null) p.Program.Run();
        else
        {
            _running = p;
            try { afterKernel(-1); p.Program.Run(afterKernel); }
            finally { _running = null; }
        }
        if (_options.CheckFinite && p.Program.SawNonFinite()) throw NameNonFinite(inputs, target, lr, step, seed, p);
        var result = TrainMode.Result(p);
        p.Commit(_values);
        return result;
    }

    /// <summary>The binding of the step that runs with a kernel callback (<see cref="ReadOutput"/>).</summary>
    private Binding? _running;

    /// <inheritdoc />
    public int[] FinalAfter(IReadOnlyList<string> outputs) =>
        LastWrites.Of(TrainMode.Plan, outputs.Select(o => TrainMode.Plan.Graph.Output(o)).ToArray());

    /// <inheritdoc />
    public void ReadOutput(string output, Span<float> destination)
    {
        var p = _running ?? throw new InvalidOperationException("no step is running");
        var node = TrainMode.Plan.Graph.Output(output);
        var shape = p.Program.Shapes[node.Id];
        var slot = p.Program.Slots[p.Program.Slot(node)];
        if (TrainMode.Plan.Panels[node.Id]) GemmPanels.ToRowMajor(slot, shape[0], shape[1], destination);
        else slot.AsSpan(0, NodeKernels.Count(shape)).CopyTo(destination);
    }

    /// <summary>Runs <paramref name="steps"/> training steps (as
    /// <see cref="Step(IReadOnlyList{HostTensor}, HostTensor?, double, long, ulong)"/> does, updates included, numbered
    /// from <paramref name="firstStep"/>) and times every plan kernel separately: for each kernel of
    /// <see cref="TrainPlan"/>, in order, its total seconds over the steps. For benchmarks
    /// (<c>bench training --profile</c>).</summary>
    public double[] ProfileSteps(HostTensor features, HostTensor? target, double lr, long firstStep, ulong seed,
        int steps)
    {
        HostTensor[] inputs = [features];
        var p = TrainMode.Prepare(inputs, target);
        var kernels = p.Program.Steps;
        var total = new double[kernels.Length];
        for (int s = 0; s < steps; s++)
        {
            p.Point(_values, inputs, target);
            _step.Seed = seed; _step.Step = firstStep + s;
            p.Set(TrainStep.LrInput, (float)lr);
            p.Set(TrainStep.StepInput, firstStep + s);
            TimeKernels(kernels, total);
            if (_options.CheckFinite && p.Program.SawNonFinite())
                throw NameNonFinite(inputs, target, lr, firstStep + s, seed, p);
            p.Commit(_values);
        }
        return total;
    }

    /// <summary>Runs <paramref name="kernels"/> once, in order, adding each one's seconds to its
    /// <paramref name="total"/>.</summary>
    private static void TimeKernels(Action[] kernels, double[] total)
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        for (int k = 0; k < kernels.Length; k++)
        {
            kernels[k]();
            long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
            total[k] += (t1 - t0) / (double)System.Diagnostics.Stopwatch.Frequency;
            t0 = t1;
        }
    }

    /// <summary>The prediction graph's plan.</summary>
    public Plan PredictPlan => _predict.Plan;

    /// <summary>Runs <paramref name="calls"/> forward passes (as <see cref="Predict(IReadOnlyList{HostTensor})"/> does)
    /// and times every plan kernel separately: for each kernel of <see cref="PredictPlan"/>, in order, its total
    /// seconds over the calls. For benchmarks (<c>bench/OnnxBench --profile</c>).</summary>
    public double[] ProfilePredict(HostTensor features, int calls)
    {
        HostTensor[] inputs = [features];
        var p = _predict.Prepare(inputs, null);
        var kernels = p.Program.Steps;
        var total = new double[kernels.Length];
        for (int s = 0; s < calls; s++)
        {
            TimeKernels(kernels, total);
        }
        return total;
    }

    /// <summary>Seconds of one run of training-plan kernel <paramref name="kernel"/> on its own bound buffers (as
    /// the last step left them), repeated back to back so its operands are warm: the best and the mean of
    /// <paramref name="repeats"/> runs. Run a step first. For benchmarks (<c>bench training --profile</c>), to tell
    /// a kernel's cost in a step from its cost on warm buffers.</summary>
    public (double Best, double Mean) TimeKernelWarm(HostTensor features, HostTensor? target, int kernel, int repeats)
    {
        double sum = 0;
        var p = TrainMode.Prepare([features], target);
        var run = p.Program.Steps[kernel];
        double best = double.MaxValue;
        for (int r = 0; r <= repeats; r++)
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            run();
            double t = (System.Diagnostics.Stopwatch.GetTimestamp() - t0)
                / (double)System.Diagnostics.Stopwatch.Frequency;
            if (r > 0) { best = Math.Min(best, t); sum += t; }
        }
        return (best, sum / Math.Max(repeats, 1));
    }

    /// <inheritdoc />
    /// <remarks>Binds the plan for these shapes and runs it once, so that the kernels' first-use work (JIT) is done
    /// too: the evaluation as such (it changes nothing), the training step uncommitted (its outcome is not kept, nor
    /// checked for NaN). A step writes every new value into buffers of its own, which only <see cref="Binding.Commit"/>
    /// swaps in (why a failed step leaves every value unchanged), so nothing needs putting back: the copy of every
    /// value taken and loaded back around the step cost ~1.1 ms a batch shape for 784-256-10 (issue #18). Shapes
    /// warmed up before (by the work done while the data is read, <c>TrainPlan.ahead</c>) are not run again.</remarks>
    public void Prepare(IReadOnlyList<HostTensor> inputs, HostTensor? target, bool training)
    {
        if (!training) { Evaluate(inputs, target); return; }
        var ranks = _step.Ranks;
        _step.Ranks = null; // a warm-up of this rank alone: RankSum is the identity, no collective
        try
        {
            var p = TrainMode.Prepare(inputs, target);
            if (!_warmed.Add(p)) return;
            _step.Seed = 0; _step.Step = 1;
            p.Set(TrainStep.LrInput, 0f);
            p.Set(TrainStep.StepInput, 1f);
            p.Program.Run();
        }
        finally { _step.Ranks = ranks; }
    }

    /// <summary>The training step's bindings <see cref="Prepare(IReadOnlyList{HostTensor}, HostTensor?, bool)"/> ran.
    /// </summary>
    private readonly HashSet<Binding> _warmed = [];

    /// <inheritdoc />
    public BatchResult Evaluate(IReadOnlyList<HostTensor> inputs, HostTensor? target)
    {
        var p = EvalMode.Prepare(inputs, target);
        p.Program.Run();
        return EvalMode.Result(p);
    }

    /// <inheritdoc />
    public HostTensor Predict(IReadOnlyList<HostTensor> inputs)
    {
        var (output, shape) = RunPredict(inputs);
        var data = new float[NodeKernels.Count(shape)];
        Array.Copy(output, data, data.Length);
        return new HostTensor((int[])shape.Clone(), data);
    }

    /// <inheritdoc />
    public void PredictInto(IReadOnlyList<HostTensor> inputs, Span<float> destination)
    {
        var (output, shape) = RunPredict(inputs);
        if (destination.Length > NodeKernels.Count(shape)) throw new ArgumentException("more than the output");
        output.AsSpan(0, destination.Length).CopyTo(destination);
    }

    /// <summary>Runs the forward pass: the slot holding its output, and the output's shape.</summary>
    private (float[] Output, int[] Shape) RunPredict(IReadOnlyList<HostTensor> inputs)
    {
        var p = _predict.Prepare(inputs, null);
        p.Program.Run();
        var o = _predict.Plan.Graph.Output("output");
        return (p.Program.Slots[p.Program.Slot(o)], p.Program.Shapes[o.Id]);
    }

    /// <summary>The one-element list the one-input forms below feed (reused, so a step allocates nothing).</summary>
    private readonly HostTensor[] _one = new HostTensor[1];

    private HostTensor[] One(HostTensor features)
    {
        _one[0] = features;
        return _one;
    }

    /// <summary>A training step of a network with one input.</summary>
    public BatchResult Step(HostTensor features, HostTensor? target, double lr, long step, ulong seed) =>
        Step(One(features), target, lr, step, seed);
    /// <summary>An evaluation of a network with one input.</summary>
    public BatchResult Evaluate(HostTensor features, HostTensor? target) => Evaluate(One(features), target);
    /// <summary>A prediction of a network with one input.</summary>
    public HostTensor Predict(HostTensor features) => Predict(One(features));
    /// <summary>Readies a network with one input (see the interface).</summary>
    public void Prepare(HostTensor features, HostTensor? target, bool training) =>
        Prepare(One(features), target, training);

    private Exception NameNonFinite(IReadOnlyList<HostTensor> inputs, HostTensor? target, double lr, long step,
        ulong seed, Binding p)
    {
        if (_replay is not null)
        {
            var feeds = _values.ToDictionary(kv => kv.Key, kv => new HostTensor(_shapes[kv.Key], RowMajor(kv.Key)));
            for (int i = 0; i < _inputs.Length; i++) feeds[_inputs[i]] = inputs[i];
            if (_g.FedTarget && target is not null) feeds[TrainStep.TargetInput] = target;
            feeds[TrainStep.LrInput] = new HostTensor([], [(float)lr]);
            feeds[TrainStep.StepInput] = new HostTensor([], [(float)step]);
            if (_replay(_g.Train, feeds, seed, step) is { } named) return named;
        }
        // The replay stayed finite where float32 kernels did not (or there is none): name the first non-finite output.
        foreach (var (_, node) in TrainMode.Plan.Graph.Outputs)
        {
            var slot = p.Program.Slots[p.Program.Slot(node)];
            var shape = p.Program.Shapes[node.Id];
            for (int i = 0; i < NodeKernels.Count(shape); i++)
                if (!float.IsFinite(slot[i]))
                    return Throw.NonFinite(node, float.IsNaN(slot[i]) ? "NaN" : "infinity",
                        TrainMode.Plan.Panels[node.Id] ? RowMajorIndex(shape, i) : i);
        }
        return Throw.Bug("the non-finite check fired but no output is non-finite");
    }

    private sealed class Mode
    {
        private readonly FusedExecutor _x;
        private readonly List<Binding> _bound = [];
        private readonly bool _train;
        private readonly string _role; // for NN_TIMINGS=kernels
        private readonly Node _loss;
        private readonly Node[] _metrics;

        public Mode(FusedExecutor x, Graph graph, bool train, string role)
        {
            _x = x; _train = train; _role = role;
            var g = Rewrite.Passes.Optimize(graph);
            Plan = Planner.Build(g);
            _loss = g.Outputs.FirstOrDefault(o => o.Key == "loss").Value;
            _metrics = x._g.Metrics
                .Select(m => g.Outputs.FirstOrDefault(o => o.Key == TrainStep.MetricPrefix + m).Value)
                .ToArray();
        }

        public Plan Plan { get; private set; }

        /// <summary>Marks the plan's values that share a layout with the <paramref name="panels"/> weights (before
        /// any binding).</summary>
        public void UsePanels(IReadOnlySet<string> panels) => Plan = Plan.WithPanels(WeightLayout.Mark(Plan, panels));

        /// <summary>The binding for these feeds' shapes (bound on first sight), with every source pointed at its
        /// value.</summary>
        public Binding Prepare(IReadOnlyList<HostTensor> inputs, HostTensor? target)
        {
            _x._g.CheckInputCount(inputs);
            if (_x._g.FedTarget && target is null && Plan.Graph.Inputs.Any(i => i.Name == TrainStep.TargetInput))
                throw new ArgumentException("this network is trained with a fed target, but the data has none");
            Binding? b = null;
            foreach (var c in _bound)
                if (c.Matches(inputs, target)) { b = c; break; }
            if (b is null) { b = Binding.Create(_x, Plan, _x._inputs, inputs, target, _x._step, _role); _bound.Add(b); }
            b.Point(_x._values, inputs, target);
            return b;
        }

        public BatchResult Result(Binding b)
        {
            double loss = _loss is null ? double.NaN : b.Read(_loss);
            if (_metrics.Length == 0) return BatchResult.Of(loss, [], []);
            var m = new double[_metrics.Length][];
            for (int i = 0; i < m.Length; i++) m[i] = b.ReadAll(_metrics[i]);
            return BatchResult.Of(loss, _x._g.Spec.Metrics, m);
        }
    }
}

/// <summary>Replays a training step on another executor to name the first node that produced NaN or infinity
/// (null when it stays finite): how the fused engine, whose fused loops keep no per-node values, names the node.
/// </summary>
internal delegate NonFiniteException? NonFiniteReplay(Graph train, IReadOnlyDictionary<string, HostTensor> feeds,
    ulong seed, long step);
