using Nn.Runtime.Data;
using Nn.Runtime.IR;
using Nn.Runtime.Ops;

namespace Nn.Runtime.Training;

/// <summary>The loss and each metric's statistics of one batch (metrics in <see cref="StepGraphs.Metrics"/> order;
/// statistics as <see cref="Metric.Build"/> makes them), which <see cref="EpochTotals"/> adds up over an epoch.
/// The metrics' values of the batch alone are computed only when asked for (<see cref="Metrics"/>): a training step
/// does not need them.</summary>
internal readonly struct BatchResult
{
    private readonly IReadOnlyList<Metric> _kinds;

    private BatchResult(double loss, IReadOnlyList<Metric> kinds, double[][] statistics)
    {
        Loss = loss;
        _kinds = kinds;
        Statistics = statistics;
    }

    /// <summary>The loss of the batch.</summary>
    public double Loss { get; }

    /// <summary>Each metric's statistics of the batch, means over its rows.</summary>
    public double[][] Statistics { get; }

    /// <summary>Each metric's value on this batch alone, from its statistics.</summary>
    public double[] Metrics
    {
        get
        {
            var values = new double[Statistics.Length];
            for (int i = 0; i < values.Length; i++)
            {
                var total = _kinds[i].NewTotal();
                total.Add(Statistics[i], 1);
                values[i] = total.Value;
            }
            return values;
        }
    }

    /// <summary>The result of a batch from the loss and each metric's statistics.</summary>
    public static BatchResult Of(double loss, IReadOnlyList<Metric> metrics, double[][] statistics) =>
        new(loss, metrics, statistics);
}

/// <summary>
/// Runs the graphs of a <see cref="StepGraphs"/> and owns the values of its Params and States between steps.
/// The reference interpreter (<c>Execution.ReferenceExecutor</c>) and the fused engine (<c>Engine.FusedExecutor</c>)
/// implement it; <c>Executors.StepExecutor.Create</c> picks one by name.
/// Contract: <see cref="Step(IReadOnlyList{HostTensor}, HostTensor?, double, long, ulong)"/> computes the loss and
/// metrics on the values before the update, then replaces every
/// Param and State by its <c>new:</c> output; the same values, feeds, seed and step give bit-identical results.
/// </summary>
internal interface IStepExecutor
{
    /// <summary>Replaces the values of the named Params and States (others keep theirs). Shapes must match.</summary>
    void Load(IReadOnlyDictionary<string, HostTensor> values);
    /// <summary>A copy of every Param and State value, by name.</summary>
    Dictionary<string, HostTensor> Snapshot();
    /// <summary>A <see cref="Snapshot"/> written into the tensors of <paramref name="into"/>, an earlier snapshot of
    /// this executor (the same names and shapes), which it returns: what a new one would hold, without allocating
    /// where the executor reads its own storage (the trainer's checkpoint after every epoch, issue #18). The default
    /// copies a new <see cref="Snapshot"/>.</summary>
    Dictionary<string, HostTensor> SnapshotInto(Dictionary<string, HostTensor> into)
    {
        foreach (var (name, v) in Snapshot()) v.Data.AsSpan().CopyTo(into[name].Data);
        return into;
    }
    /// <summary>One training step on a batch. <paramref name="inputs"/> holds one tensor per data input of the network
    /// (<see cref="StepGraphs.DataInputs"/>, in order). <paramref name="step"/> is the 1-based global step (fed as
    /// <c>t</c>, and with <paramref name="seed"/> it selects the dropout masks). <paramref name="target"/> is null
    /// when the target is computed in the graph.</summary>
    /// <exception cref="NonFiniteException">when a node produces NaN or infinity (the Params are then
    /// unchanged)</exception>
    BatchResult Step(IReadOnlyList<HostTensor> inputs, HostTensor? target, double lr, long step, ulong seed);
    /// <summary>Loss and metrics of a batch in evaluation mode (no update).</summary>
    BatchResult Evaluate(IReadOnlyList<HostTensor> inputs, HostTensor? target);
    /// <summary>The network's output for a batch, in evaluation mode.</summary>
    HostTensor Predict(IReadOnlyList<HostTensor> inputs);
    /// <summary>The first <paramref name="destination"/>.Length elements of the output of
    /// <see cref="Predict(IReadOnlyList{HostTensor})"/> (its first rows, row-major) written into
    /// <paramref name="destination"/>. The default copies that output; executors write from their own storage (no
    /// array a batch: `nn predict`).</summary>
    void PredictInto(IReadOnlyList<HostTensor> inputs, Span<float> destination) =>
        Predict(inputs).Data.AsSpan(0, destination.Length).CopyTo(destination);
    /// <summary>Readies the training step (<paramref name="training"/>) or the evaluation for batches shaped like
    /// these, so that the one-time work (binding buffers, first-use code) is done before an epoch's clock starts
    /// rather than in its first batch. Changes no value; optional (the default does nothing).</summary>
    void Prepare(IReadOnlyList<HostTensor> inputs, HostTensor? target, bool training) { }
    /// <summary>Copies the current value of a Param or State, row-major, into <paramref name="destination"/> (data
    /// parallelism reads the gradients this way, <c>Distributed.DataParallelStep</c>). The default copies a
    /// <see cref="Snapshot"/>; executors read their own storage.</summary>
    void Read(string name, Span<float> destination) => Snapshot()[name].Data.AsSpan().CopyTo(destination);
    /// <summary><see cref="Load"/> of one value, which the executor may copy into its own storage in place (data
    /// parallelism sets the updated weights this way after every step).</summary>
    void Assign(string name, HostTensor value) =>
        Load(new Dictionary<string, HostTensor> { [name] = value });
    /// <summary>Sets the global row of the batch's first row: the dropout masks of the following steps start
    /// <paramref name="rows"/> rows into their streams, so that a rank's share of a batch draws the masks the whole
    /// batch draws for those rows (data parallelism; 0 otherwise). Executors that cannot take a share refuse.
    /// </summary>
    void SkipRows(int rows)
    {
        if (rows != 0) throw new NotSupportedException($"{GetType().Name} cannot run a share of a batch");
    }

    /// <summary>The sum across ranks that the training graph's RankSum nodes call from the next step on (null: none,
    /// RankSum is the identity, as in one process). Data parallelism sets it before each step
    /// (<c>Distributed.DataParallelExecutor</c>). Executors that cannot run a collective refuse.</summary>
    void UseRanks(IRankSum? ranks)
    {
        if (ranks is not null) throw new NotSupportedException($"{GetType().Name} cannot sum across ranks");
    }

    /// <summary><see cref="Step(IReadOnlyList{HostTensor}, HostTensor?, double, long, ulong)"/> of a network with
    /// one input.</summary>
    BatchResult Step(HostTensor features, HostTensor? target, double lr, long step, ulong seed) =>
        Step([features], target, lr, step, seed);
    /// <summary><see cref="Evaluate(IReadOnlyList{HostTensor}, HostTensor?)"/> of a network with one input.</summary>
    BatchResult Evaluate(HostTensor features, HostTensor? target) => Evaluate([features], target);
    /// <summary><see cref="Predict(IReadOnlyList{HostTensor})"/> of a network with one input.</summary>
    HostTensor Predict(HostTensor features) => Predict([features]);
    /// <summary><see cref="Prepare(IReadOnlyList{HostTensor}, HostTensor?, bool)"/> of a network with one
    /// input.</summary>
    void Prepare(HostTensor features, HostTensor? target, bool training) => Prepare([features], target, training);
}

/// <summary>How the CLI and the embedding API want a network run.</summary>
internal sealed record ExecutorOptions
{
    /// <summary><c>fused</c> (planned kernels, the default) or <c>reference</c> (the interpreter, the
    /// oracle).</summary>
    public string Engine { get; init; } = "fused";
    /// <summary>Threads for matrix products and large elementwise loops (1 or 2 on this machine; more are capped by
    /// the worker pool).</summary>
    public int Threads { get; init; } = 1;
    /// <summary>Check each training step for NaN and infinity (loss and updated values) and name the first bad
    /// node.</summary>
    public bool CheckFinite { get; init; } = true;
    /// <summary>Plan, bind and hold only what <see cref="IStepExecutor.Predict(IReadOnlyList{HostTensor})"/> runs:
    /// the prediction graph and its Params and States (<c>nn predict</c>: no training step or evaluation is planned,
    /// no optimizer state is held). Training and evaluating such an executor is an internal error. The fused engine
    /// only; the reference interpreter plans nothing.</summary>
    public bool PredictOnly { get; init; }
}
