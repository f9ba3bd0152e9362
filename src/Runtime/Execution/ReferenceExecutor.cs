using Nn.Runtime.Data;
using Nn.Runtime.IR;
using Nn.Runtime.Training;

namespace Nn.Runtime.Execution;

/// <summary>
/// <see cref="IStepExecutor"/> over the float32 <see cref="ReferenceInterpreter{T}"/>, with the interpreter's
/// non-finite check on in training steps. Slow (plain loops, fresh tensors per node) but the oracle.
/// </summary>
internal sealed class ReferenceExecutor : IStepExecutor
{
    private readonly StepGraphs _g;
    private readonly Dictionary<string, Tensor<float>> _values = [];
    private readonly string[] _inputs;

    /// <summary>An executor whose Params and States start at <paramref name="initial"/> (for example
    /// <see cref="Initializers.ForGraph"/> of the training graph).</summary>
    /// <exception cref="ArgumentException">when the network has no data Input, or a value is missing</exception>
    public ReferenceExecutor(StepGraphs graphs, IReadOnlyDictionary<string, HostTensor> initial,
        bool checkFinite = true)
    {
        _g = graphs;
        CheckFinite = checkFinite;
        _inputs = graphs.CheckExecutable(initial);
        Load(initial);
    }

    /// <summary>A reference executor with every Param and State initialised from <paramref name="seed"/>.</summary>
    public static ReferenceExecutor FromSeed(StepGraphs graphs, ulong seed, bool checkFinite = true) =>
        new(graphs, Initializers.ForGraph(graphs.Train, seed), checkFinite);

    /// <summary>Replays a training step on the float32 interpreter with the non-finite check on: the error naming
    /// the first node that produced NaN or infinity, or null when every node stayed finite. The fused engine's
    /// <see cref="Engine.NonFiniteReplay"/>, so that it can name the node a fused loop hides.</summary>
    public static NonFiniteException? FirstNonFinite(Graph train, IReadOnlyDictionary<string, HostTensor> feeds,
        ulong seed, long step)
    {
        var tensors = feeds.ToDictionary(kv => kv.Key, kv => Wrap(kv.Value));
        var options = new RunOptions { Seed = seed, Step = step, CheckFinite = true };
        try { ReferenceInterpreter<float>.Run(train, tensors, options); }
        catch (NonFiniteException e) { return e; }
        return null;
    }

    /// <summary>Whether training steps check every node for NaN and infinity.</summary>
    public bool CheckFinite { get; }

    /// <inheritdoc />
    public void Load(IReadOnlyDictionary<string, HostTensor> values)
    {
        foreach (var (name, v) in values)
        {
            var node = _g.Params.Concat(_g.States).FirstOrDefault(n => n.Name == name)
                ?? throw new ArgumentException($"the network has no parameter or state `{name}`");
            var shape = node.Shape.Resolve(new Dictionary<string, int>());
            if (!shape.SequenceEqual(v.Shape))
                throw new ArgumentException(
                    $"`{name}` has shape {node.Shape} but the value has {HostTensor.FormatShape(v.Shape)}");
            _values[name] = new Tensor<float>((int[])v.Shape.Clone(), (float[])v.Data.Clone());
        }
    }

    /// <inheritdoc />
    public Dictionary<string, HostTensor> Snapshot() =>
        _values.ToDictionary(kv => kv.Key,
            kv => new HostTensor((int[])kv.Value.Shape.Clone(), (float[])kv.Value.Data.Clone()));

    private Dictionary<string, Tensor<float>> Feeds(IReadOnlyList<HostTensor> inputs, HostTensor? target)
    {
        _g.CheckInputCount(inputs);
        var feeds = new Dictionary<string, Tensor<float>>(_values);
        for (int i = 0; i < _inputs.Length; i++) feeds[_inputs[i]] = Wrap(inputs[i]);
        if (_g.FedTarget)
            feeds[TrainStep.TargetInput] = Wrap(target ?? throw new ArgumentException(
                "this network is trained with a fed target, but the data has none"));
        return feeds;
    }

    private static Tensor<float> Wrap(HostTensor t) => new(t.Shape, t.Data);

    /// <inheritdoc />
    public BatchResult Step(IReadOnlyList<HostTensor> inputs, HostTensor? target, double lr, long step, ulong seed)
    {
        var feeds = Feeds(inputs, target);
        feeds[TrainStep.LrInput] = Tensor<float>.Scalar((float)lr);
        feeds[TrainStep.StepInput] = Tensor<float>.Scalar(step);
        var r = ReferenceInterpreter<float>.Run(_g.Train, feeds,
            new RunOptions
            {
                Seed = seed, Step = step, CheckFinite = CheckFinite, RowOffset = _rowOffset, Ranks = _ranks,
            });
        foreach (var (name, v) in r)
            if (name.StartsWith(TrainStep.NewPrefix, StringComparison.Ordinal))
                _values[name[TrainStep.NewPrefix.Length..]] = v;
        return Result(r);
    }

    private int _rowOffset;

    /// <inheritdoc />
    public void SkipRows(int rows) => _rowOffset = rows;

    private IRankSum? _ranks;

    /// <inheritdoc />
    public void UseRanks(IRankSum? ranks) => _ranks = ranks;

    /// <inheritdoc />
    public BatchResult Evaluate(IReadOnlyList<HostTensor> inputs, HostTensor? target) =>
        Result(ReferenceInterpreter<float>.Run(_g.Eval, Feeds(inputs, target)));

    /// <inheritdoc />
    public HostTensor Predict(IReadOnlyList<HostTensor> inputs)
    {
        _g.CheckInputCount(inputs);
        var feeds = new Dictionary<string, Tensor<float>>(_values);
        for (int i = 0; i < _inputs.Length; i++) feeds[_inputs[i]] = Wrap(inputs[i]);
        var o = ReferenceInterpreter<float>.Run(_g.Predict, feeds)["output"];
        return new HostTensor(o.Shape, o.Data);
    }

    /// <summary>A training step of a network with one input.</summary>
    public BatchResult Step(HostTensor features, HostTensor? target, double lr, long step, ulong seed) =>
        Step([features], target, lr, step, seed);
    /// <summary>An evaluation of a network with one input.</summary>
    public BatchResult Evaluate(HostTensor features, HostTensor? target) => Evaluate([features], target);
    /// <summary>A prediction of a network with one input.</summary>
    public HostTensor Predict(HostTensor features) => Predict([features]);

    private BatchResult Result(Dictionary<string, Tensor<float>> r) =>
        BatchResult.Of(r.TryGetValue("loss", out var loss) ? loss.Data[0] : double.NaN, _g.Spec.Metrics,
            _g.Metrics.Select(m => r[TrainStep.MetricPrefix + m].Data.Select(x => (double)x).ToArray()).ToArray());
}
