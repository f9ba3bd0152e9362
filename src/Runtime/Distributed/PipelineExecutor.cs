using Nn.Runtime.Data;
using Nn.Runtime.Engine;
using Nn.Runtime.IR;
using Nn.Runtime.Training;

namespace Nn.Runtime.Distributed;

/// <summary>
/// One rank's part of a pipelined training step (GPipe): this rank runs stage <c>Rank</c> of
/// <see cref="PipelineGraphs"/> and owns that stage's Params and optimizer state. A step splits the batch into
/// micro-batches (row ranges, as equal as possible) and runs, on every rank at once:
/// <list type="number">
/// <item>all forwards: each micro-batch's activations are received from the rank before, run through the stage and
///   sent to the rank after (the last rank keeps the network's output rows);</item>
/// <item>the loss on the last rank, on the whole batch's output; the loss and metrics are broadcast, so every rank
///   returns the same <see cref="BatchResult"/> and a NaN stops every rank before any update;</item>
/// <item>all backwards, last micro-batch first: the gradient of the stage's output is received (or, on the last rank,
///   cut from the loss's), the stage's forward is recomputed and differentiated, its Params' gradients are summed and
///   its input's gradient is sent back;</item>
/// <item>the update of the rank's own Params, from the summed gradients.</item>
/// </list>
/// Evaluation, prediction and <see cref="Snapshot"/> first gather every stage's values on every rank (a broadcast per
/// value from its owner; only after values changed) and then run the whole network in this process: pipelining is
/// for the training step. Every call is collective: all ranks make the same calls in the same order (the trainer's
/// loop does).
/// </summary>
internal sealed class PipelineExecutor : IStepExecutor
{
    private readonly PipelineGraphs _pg;
    private readonly StageGraphs _st;
    private readonly ICommunicator _comm;
    private readonly int _micro;
    private readonly bool _first, _last;
    private readonly Dictionary<string, float[]> _values = [];
    private readonly Dictionary<string, int[]> _shapes = [];
    private readonly Dictionary<string, float[]> _grads = [];
    private readonly Dictionary<int, Bound> _forward = [], _backward = [], _loss = [];
    private readonly Bound? _update;
    private readonly int[] _statLengths;
    private readonly string[] _readOnly;
    private readonly List<float[]> _received = [];
    private float[] _output = [];
    private readonly (Node Node, string Name)[] _masks;
    private readonly Dictionary<string, float[]> _maskValues = [];
    private FusedExecutor? _whole;
    private bool _stale = true, _wholeStale = true;
    private Dictionary<string, HostTensor>? _gathered;

    /// <summary>A graph bound for one size, with the arrays its Inputs read.</summary>
    private sealed record Bound(CompiledGraph Graph, Dictionary<string, float[]> Feeds);

    /// <summary>Rank <c>comm.Rank</c>'s executor of <paramref name="pipeline"/>, which has one stage per rank,
    /// starting from <paramref name="initial"/> (every Param and State of the whole step; this rank keeps its
    /// own).</summary>
    public PipelineExecutor(PipelineGraphs pipeline, ICommunicator comm,
        IReadOnlyDictionary<string, HostTensor> initial, int microBatches)
    {
        if (comm.Size != pipeline.Stages.Count)
            throw new ArgumentException($"a pipeline of {pipeline.Stages.Count} stages needs as many ranks, "
                + $"not {comm.Size}");
        if (microBatches < 1) throw new NnRuntimeException(PipelineCodes.BadStages, SourceSpan.None,
            $"--micro-batches needs a whole number of at least 1, got {microBatches}");
        _pg = pipeline; _comm = comm; _micro = microBatches;
        _st = pipeline.Stages[comm.Rank];
        _first = comm.Rank == 0;
        _last = comm.Rank == comm.Size - 1;
        pipeline.Whole.CheckExecutable(initial);
        foreach (var n in pipeline.Whole.Params.Concat(pipeline.Whole.States))
            _shapes[n.Name!] = n.Shape.Resolve(new Dictionary<string, int>());
        // every rank keeps the States the step only reads (standardize's statistics); the rest is its stage's own
        var updated = pipeline.Stages.SelectMany(OwnedNames).ToHashSet();
        _readOnly = pipeline.Whole.States.Select(n => n.Name!).Where(n => !updated.Contains(n)).ToArray();
        foreach (var name in OwnedNames(_st).Concat(_readOnly)) _values[name] = (float[])initial[name].Data.Clone();
        _masks = _st.Stage.Nodes.Where(n => n.Op == OpKind.DropoutMask)
            .Select(n => (n, PipelineGraphs.Mask(n))).ToArray();
        _statLengths = pipeline.Whole.Metrics
            .Select(m => (int)pipeline.Loss.Output(TrainStep.MetricPrefix + m).Shape.FixedCount).ToArray();
        if (_st.Trainable.Count > 0)
        {
            var feeds = Own(_st.Update);
            feeds[TrainStep.LrInput] = new float[1];
            feeds[TrainStep.StepInput] = new float[1];
            feeds[PipelineGraphs.ClipScale] = [1f];
            _update = Bind(_st.Update, feeds, _st.Trainable.ToDictionary(
                p => PipelineGraphs.ParamGrad(p.Name!), p => _shapes[p.Name!]));
            // the backward passes add their gradients straight into the update's fed arrays
            foreach (var p in _st.Trainable)
                if (_st.Backward.Outputs.Any(o => o.Key == PipelineGraphs.ParamGrad(p.Name!)))
                    _grads[PipelineGraphs.ParamGrad(p.Name!)] = feeds[PipelineGraphs.ParamGrad(p.Name!)];
        }
    }

    /// <summary>The names of the values a stage owns: its Params, then its optimizer's States.</summary>
    private static IEnumerable<string> OwnedNames(StageGraphs s) =>
        s.Owned.Select(p => p.Name!).Concat(s.Update.States.Select(n => n.Name!));

    /// <summary>The rank's own values the graph reads, by name (the arrays themselves: an update is seen by every
    /// binding).</summary>
    private Dictionary<string, float[]> Own(Graph g) =>
        g.Nodes.Where(n => n.Op is OpKind.Param or OpKind.State).ToDictionary(n => n.Name!, n => _values[n.Name!]);

    private Bound Bind(Graph g, Dictionary<string, float[]> feeds, Dictionary<string, int[]> inputShapes)
    {
        foreach (var n in g.Inputs)
            if (!feeds.ContainsKey(n.Name!) && inputShapes.TryGetValue(n.Name!, out var shape))
                feeds[n.Name!] = new float[(int)HostTensor.ElementCount(shape)];
        var tensors = feeds.ToDictionary(kv => kv.Key, kv => new HostTensor(
            _shapes.TryGetValue(kv.Key, out var s) ? s : inputShapes.GetValueOrDefault(kv.Key) ?? [], kv.Value));
        return new Bound(GraphRunner.Compile(g, tensors, threads: 1, optimize: true), feeds);
    }

    /// <summary>The shapes of a graph's Inputs for <paramref name="rows"/> rows of the batch, from the data.</summary>
    private Dictionary<string, int[]> InputShapes(Graph g, IReadOnlyList<HostTensor> inputs, HostTensor? target,
        int rows)
    {
        var dims = new Dictionary<string, int>();
        var data = _pg.Whole.DataInputs;
        var shapes = new Dictionary<string, int[]>();
        for (int i = 0; i < data.Count; i++)
        {
            var shape = (int[])inputs[i].Shape.Clone();
            shape[0] = rows;
            shapes[data[i].Name!] = shape;
            for (int a = 0; a < Math.Min(shape.Length, data[i].Shape.Rank); a++)
                if (!data[i].Shape[a].IsFixed) dims[data[i].Shape[a].Symbol!] = shape[a];
        }
        if (target is not null)
        {
            var shape = (int[])target.Shape.Clone();
            shape[0] = rows;
            shapes[TrainStep.TargetInput] = shape;
        }
        foreach (var n in g.Inputs)
            if (!shapes.ContainsKey(n.Name!)) shapes[n.Name!] = n.Shape.Resolve(dims);
        return shapes;
    }

    private Bound Get(Dictionary<int, Bound> cache, Graph g, IReadOnlyList<HostTensor> inputs, HostTensor? target,
        int rows)
    {
        if (!cache.TryGetValue(rows, out var bound))
            cache[rows] = bound = Bind(g, Own(g), InputShapes(g, inputs, target, rows));
        return bound;
    }

    /// <summary>Rows [start, start + count) of the data inputs (and the target) into a binding's feeds.</summary>
    private void FeedRows(Bound b, IReadOnlyList<HostTensor> inputs, HostTensor? target, int start, int count)
    {
        var data = _pg.Whole.DataInputs;
        for (int i = 0; i < data.Count; i++)
            if (b.Feeds.TryGetValue(data[i].Name!, out var dest)) CopyRows(inputs[i], start, count, dest);
        if (target is not null && b.Feeds.TryGetValue(TrainStep.TargetInput, out var t))
            CopyRows(target, start, count, t);
    }

    /// <summary>Draws this step's dropout masks for the whole batch, as the single process's kernel does.</summary>
    private void DrawMasks(int rows, ulong seed, long step, Dictionary<string, int[]> shapes)
    {
        foreach (var (node, name) in _masks)
        {
            var shape = (int[])shapes[name].Clone();
            shape[0] = rows;
            int count = (int)HostTensor.ElementCount(shape);
            if (!_maskValues.TryGetValue(name, out var m) || m.Length != count)
                _maskValues[name] = m = new float[count];
            var context = new Engine.Lowering.StepContext { Seed = seed, Step = step };
            new Engine.Lowering.DropoutMask(context, node.Attrs.Stream!.Value)
                .Fill(m, node.Attrs.Value, rows == 0 ? 0 : count / rows);
        }
    }

    /// <summary>Rows [start, start + count) of the drawn masks into a binding's feeds.</summary>
    private void FeedMasks(Bound b, int start, int count)
    {
        foreach (var (_, name) in _masks)
            if (b.Feeds.TryGetValue(name, out var dest))
            {
                int row = dest.Length / count;
                _maskValues[name].AsSpan(start * row, count * row).CopyTo(dest);
            }
    }

    private static void CopyRows(HostTensor source, int start, int count, float[] dest)
    {
        int row = source.Rows == 0 ? 0 : source.Length / source.Rows;
        source.Data.AsSpan(start * row, count * row).CopyTo(dest);
    }

    /// <summary>Floats per row of each named activation of a binding.</summary>
    private static int Length(Bound b, IReadOnlyList<Node> nodes, Func<Node, string> name) =>
        nodes.Sum(n => b.Feeds.TryGetValue(name(n), out var f) ? f.Length : 0);

    /// <summary>The micro-batches of a batch of <paramref name="rows"/> rows: (first row, count).</summary>
    internal static (int Start, int Count)[] Split(int rows, int micro)
    {
        int m = Math.Max(1, Math.Min(micro, rows));
        var result = new (int, int)[m];
        for (int i = 0, start = 0; i < m; i++)
        {
            int count = rows / m + (i < rows % m ? 1 : 0);
            result[i] = (start, count);
            start += count;
        }
        return result;
    }

    /// <inheritdoc />
    public BatchResult Step(IReadOnlyList<HostTensor> inputs, HostTensor? target, double lr, long step, ulong seed)
    {
        _pg.Whole.CheckInputCount(inputs);
        int rows = inputs[0].Rows;
        var micro = Split(rows, _micro);
        var output = _pg.Cut.Output;
        int outRow = 1;
        for (int a = 1; a < output.Shape.Rank; a++) outRow *= output.Shape[a].Size; // the batch axis is the first
        if (_last && _output.Length != rows * outRow) _output = new float[rows * outRow];
        while (_received.Count < micro.Length) _received.Add([]);

        // 1. every forward
        for (int m = 0; m < micro.Length; m++)
        {
            var (start, count) = micro[m];
            var f = Get(_forward, _st.Forward, inputs, target, count);
            if (m == 0 && _masks.Length > 0) DrawMasks(rows, seed, step, InputShapes(_st.Forward, inputs, null, 1));
            FeedRows(f, inputs, null, start, count);
            FeedMasks(f, start, count);
            if (!_first)
            {
                int length = Length(f, _st.Stage.In, PipelineGraphs.Act);
                if (_received[m].Length != length) _received[m] = new float[length];
                _comm.Receive(_received[m], _comm.Rank - 1, 2 * m);
                Unpack(_received[m], f, _st.Stage.In, PipelineGraphs.Act);
            }
            f.Graph.Run();
            if (_last) f.Graph.Output(PipelineGraphs.Act(output), out _).CopyTo(_output.AsSpan(start * outRow));
            else _comm.Send(Pack(f, _st.Stage.Out, PipelineGraphs.Act), _comm.Rank + 1, 2 * m);
        }

        // 2. the loss on the whole batch, shared with every rank
        var totals = new double[1 + _statLengths.Sum()];
        Bound? loss = null;
        if (_last)
        {
            loss = Get(_loss, _pg.Loss, inputs, target, rows);
            _output.CopyTo(loss.Feeds[PipelineGraphs.OutputInput], 0);
            FeedRows(loss, inputs, target, 0, rows);
            loss.Graph.Run();
            totals[0] = loss.Graph.Output("loss", out _)[0];
            int at = 1;
            foreach (var name in _pg.Whole.Metrics)
                foreach (var v in loss.Graph.Output(TrainStep.MetricPrefix + name, out _)) totals[at++] = v;
        }
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(totals.AsSpan());
        _comm.Broadcast(bytes, _comm.Size - 1);
        if (!double.IsFinite(totals[0]))
            throw Throw.NonFinite(_pg.Loss.Output("loss"), double.IsNaN(totals[0]) ? "NaN" : "infinity", 0);

        // 3. every backward, last micro-batch first
        foreach (var g in _grads.Values) Array.Clear(g);
        for (int m = micro.Length - 1; m >= 0; m--)
        {
            var (start, count) = micro[m];
            var b = Get(_backward, _st.Backward, inputs, target, count);
            FeedRows(b, inputs, null, start, count);
            FeedMasks(b, start, count);
            if (!_first) Unpack(_received[m], b, _st.Stage.In, PipelineGraphs.Act);
            if (_last)
                loss!.Graph.Output(PipelineGraphs.OutputGradient, out _).Slice(start * outRow, count * outRow)
                    .CopyTo(b.Feeds[PipelineGraphs.Grad(output)]);
            else
            {
                var message = new float[Length(b, _st.Stage.Out, PipelineGraphs.Grad)];
                _comm.Receive(message, _comm.Rank + 1, 2 * m + 1);
                Unpack(message, b, _st.Stage.Out, PipelineGraphs.Grad);
            }
            b.Graph.Run();
            foreach (var (name, sum) in _grads) AddTo(sum, b.Graph.Output(name, out _));
            if (!_first) _comm.Send(PackOutputs(b, _st.Stage.In), _comm.Rank - 1, 2 * m + 1);
        }

        // 4. the update of this rank's Params, committed only when every rank's is finite
        var ok = new float[] { Update(lr, step) ? 0 : 1 };
        _comm.AllreduceSum(ok);
        if (ok[0] != 0)
            throw new ExecutionException(RuntimeCodes.NonFinite,
                "a parameter update produced NaN or infinity (pipelined step: the stage is not named)", null);
        Commit();
        _stale = true;
        var stats = new double[_statLengths.Length][];
        for (int i = 0, at = 1; i < stats.Length; at += _statLengths[i], i++)
            stats[i] = totals.AsSpan(at, _statLengths[i]).ToArray();
        return BatchResult.Of(totals[0], _pg.Whole.Spec.Metrics, stats);
    }

    /// <summary><paramref name="sum"/> += <paramref name="g"/>, element by element.</summary>
    private static void AddTo(float[] sum, ReadOnlySpan<float> g)
    {
        int i = 0, w = System.Numerics.Vector<float>.Count;
        var s = sum.AsSpan();
        for (; i + w <= s.Length; i += w)
            (new System.Numerics.Vector<float>(s[i..]) + new System.Numerics.Vector<float>(g[i..])).CopyTo(s[i..]);
        for (; i < s.Length; i++) s[i] += g[i];
    }

    /// <summary>True when no element is NaN or infinite (x − x is 0 exactly for the finite ones).</summary>
    private static bool AllFinite(ReadOnlySpan<float> x)
    {
        int i = 0, w = System.Numerics.Vector<float>.Count;
        var bad = System.Numerics.Vector<float>.Zero;
        for (; i + w <= x.Length; i += w)
        {
            var v = new System.Numerics.Vector<float>(x[i..]);
            bad += v - v;
        }
        for (; i < x.Length; i++) if (!float.IsFinite(x[i])) return false;
        return System.Numerics.Vector.EqualsAll(bad, System.Numerics.Vector<float>.Zero);
    }

    /// <summary>Runs the update; false when a new value is not finite. With <c>clip = norm c</c> it runs twice:
    /// first for every stage's Σg², summed over the ranks (collective), then with the factor of the whole
    /// norm.</summary>
    private bool Update(double lr, long step)
    {
        var max = _pg.Whole.Spec.Clip.Norm;
        if (_update is null)
        {
            if (max is not null) _comm.AllreduceSum(new double[1]);
            return true;
        }
        _update.Feeds[TrainStep.LrInput][0] = (float)lr;
        _update.Feeds[TrainStep.StepInput][0] = step;
        if (max is double c)
        {
            _update.Feeds[PipelineGraphs.ClipScale][0] = 1;
            _update.Graph.Run();
            var sq = new double[] { _update.Graph.Output(PipelineGraphs.SquaredNorm, out _)[0] };
            _comm.AllreduceSum(sq);
            _update.Feeds[PipelineGraphs.ClipScale][0] = (float)Math.Min(1, c / ((float)Math.Sqrt(sq[0]) + 1e-6f));
        }
        _update.Graph.Run();
        foreach (var o in _st.Update.Outputs)
            if (!AllFinite(_update.Graph.Output(o.Key, out _))) return false;
        return true;
    }

    private void Commit()
    {
        if (_update is null) return;
        // the outputs are the update's own buffers, never the fed arrays of the values they replace
        foreach (var (key, _) in _st.Update.Outputs)
            if (key.StartsWith(TrainStep.NewPrefix, StringComparison.Ordinal))
                _update.Graph.Output(key, out _).CopyTo(_values[key[TrainStep.NewPrefix.Length..]]);
    }

    private float[] Pack(Bound b, IReadOnlyList<Node> nodes, Func<Node, string> name)
    {
        var parts = nodes.Select(n => b.Graph.Output(name(n), out _).ToArray()).ToArray();
        var message = new float[parts.Sum(p => p.Length)];
        int at = 0;
        foreach (var p in parts) { p.CopyTo(message, at); at += p.Length; }
        return message;
    }

    private float[] PackOutputs(Bound b, IReadOnlyList<Node> nodes) => Pack(b, nodes, PipelineGraphs.Grad);

    private static void Unpack(float[] message, Bound b, IReadOnlyList<Node> nodes, Func<Node, string> name)
    {
        int at = 0;
        foreach (var n in nodes)
        {
            if (!b.Feeds.TryGetValue(name(n), out var dest)) continue;
            message.AsSpan(at, dest.Length).CopyTo(dest);
            at += dest.Length;
        }
    }

    /// <summary>Every rank gets every value from the rank that owns it (collective).</summary>
    private Dictionary<string, HostTensor> Gather()
    {
        var all = new Dictionary<string, HostTensor>();
        foreach (var stage in _pg.Stages)
            foreach (var name in OwnedNames(stage))
            {
                var v = stage.Stage.Index == _comm.Rank ? (float[])_values[name].Clone() : new float[
                    (int)HostTensor.ElementCount(_shapes[name])];
                _comm.Broadcast(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()), stage.Stage.Index);
                all[name] = new HostTensor((int[])_shapes[name].Clone(), v);
            }
        foreach (var name in _readOnly) all[name] = new HostTensor((int[])_shapes[name].Clone(), _values[name]);
        return all;
    }

    /// <summary>The whole network with the current values, for evaluation and prediction (collective when values
    /// changed since the last call); built on the first call of this rank.</summary>
    private FusedExecutor Whole()
    {
        Synchronize();
        if (_whole is null) _whole = new FusedExecutor(_pg.Whole, _gathered!, new ExecutorOptions { Threads = 1 });
        else if (_wholeStale) _whole.Load(_gathered!);
        _wholeStale = false;
        return _whole;
    }

    /// <summary>Gathers every value on every rank if they changed (collective; evaluation then runs without
    /// messages).</summary>
    internal void Synchronize()
    {
        if (!_stale && _gathered is not null) return;
        _gathered = Gather();
        _stale = false;
        _wholeStale = true;
    }

    /// <inheritdoc />
    public void Load(IReadOnlyDictionary<string, HostTensor> values)
    {
        foreach (var (name, v) in values)
        {
            LoadedValues.Check(_shapes, name, v);
            if (_values.TryGetValue(name, out var mine)) v.Data.CopyTo(mine, 0);
        }
        _stale = true;
    }

    /// <inheritdoc />
    public Dictionary<string, HostTensor> Snapshot()
    {
        Synchronize();
        return _gathered!.ToDictionary(kv => kv.Key, kv => new HostTensor((int[])kv.Value.Shape.Clone(),
            (float[])kv.Value.Data.Clone()));
    }

    /// <inheritdoc />
    public BatchResult Evaluate(IReadOnlyList<HostTensor> inputs, HostTensor? target) =>
        Whole().Evaluate(inputs, target);

    /// <inheritdoc />
    public HostTensor Predict(IReadOnlyList<HostTensor> inputs) => Whole().Predict(inputs);
}
