using Nn.Runtime.Autodiff;
using Nn.Runtime.IR;
using Nn.Runtime.Ops;

using Nn.Runtime.Training;

namespace Nn.Runtime.Distributed;

/// <summary>
/// The training step of data parallelism, cut where the ranks meet: <see cref="Gradients"/> runs on each rank's share
/// of the batch, the ranks sum its gradients (allreduce), and <see cref="Update"/> applies them on every rank. Both are
/// <see cref="StepGraphs"/> so that either executor runs them unchanged:
/// <list type="bullet">
/// <item><see cref="Gradients"/>: the network's Inputs and <c>target</c>; outputs <c>loss</c>, the metrics, and for
///   every trainable Param <c>p</c> the output <c>new:grad:p</c> of a State <c>grad:p</c> (so the executor keeps the
///   gradient where <see cref="IStepExecutor.Read"/> finds it), and the layers' state updates (running
///   statistics).</item>
/// <item><see cref="Update"/>: the data Inputs are the summed gradients <c>grad:p</c>, one per trainable Param, in
///   <see cref="Trainable"/> order; then clipping and the optimizer, as in <see cref="TrainStep.Build"/>; outputs
///   <c>new:</c> for every Param and optimizer State.</item>
/// </list>
/// The loss of each rank is the mean over its rows, so each rank weighs its gradients by its share of the global
/// batch before the sum (PyTorch DDP averages the same way); a regularization penalty is part of every rank's
/// objective and so counted once in the weighted sum. Together the two graphs compute what
/// <see cref="StepGraphs.Train"/> computes on the whole batch, within float32 rounding.
/// <para>batchNorm's batch statistics are the global batch's (<see cref="ForwardContext.AcrossRanks"/>: sums across
/// ranks, <see cref="OpKind.RankSum"/> nodes, as PyTorch's SyncBatchNorm), so a rank's loss depends on the other
/// ranks' rows and its backward pass sums their adjoints through the same nodes. That sum must already carry each
/// rank's weight, so such a graph (<see cref="Collective"/>) weighs its objective in the graph, by
/// rows / Σranks rows, and its gradients are summed unweighted.</para>
/// </summary>
internal sealed class DataParallelStep
{
    /// <summary>The prefix of a gradient's State (in <see cref="Gradients"/>) and Input (in <see cref="Update"/>).
    /// </summary>
    public const string GradPrefix = "grad:";

    private DataParallelStep(StepGraphs gradients, StepGraphs update, Node[] trainable, bool collective)
    {
        Gradients = gradients; Update = update; Trainable = trainable; Collective = collective;
    }

    /// <summary>True when <see cref="Gradients"/> sums across ranks (batchNorm): every rank must run it in every step,
    /// its objective is weighted by the share in the graph, and the running statistics are the same on every rank.
    /// </summary>
    public bool Collective { get; }

    /// <summary>Forward, loss, metrics and gradients of a rank's share.</summary>
    public StepGraphs Gradients { get; }
    /// <summary>Clipping and the optimizer, fed the summed gradients.</summary>
    public StepGraphs Update { get; }
    /// <summary>The trainable Params (not frozen), in the order of the gradients.</summary>
    public IReadOnlyList<Node> Trainable { get; }

    /// <summary>The split step of graphs built by <see cref="TrainStep.Build"/>.</summary>
    /// <exception cref="ArgumentException">when the graphs were not built from a forward pass</exception>
    /// <exception cref="DataParallelException">NN0801 when the loss is not a mean over rows (class weights divide by
    /// the batch's weights)</exception>
    public static DataParallelStep Of(StepGraphs graphs)
    {
        var forward = graphs.Forward
            ?? throw new ArgumentException("these step graphs were not built from a network's forward pass");
        var spec = graphs.Spec;
        if (spec.ClassWeights is not null)
            throw new DataParallelException(DataParallelException.Unsupported,
                "`classWeights` divides the loss by the batch's total weight, which data parallelism cannot split "
                + "over ranks; train with one process");
        // ---- the gradients of a share ----
        var b = new GraphBuilder();
        var ctx = new ForwardContext(b, training: true) { AcrossRanks = true };
        var output = forward(ctx);
        var inputs = b.Nodes.Where(n => n.Op == OpKind.Input).ToArray();
        bool collective = b.Nodes.Any(n => n.Op == OpKind.RankSum);
        var (loss, metrics) = TrainStep.LossAndMetrics(ctx, output, spec);
        var all = b.Nodes.Where(n => n.Op == OpKind.Param).ToArray();
        var trainable = spec.Frozen is { Count: > 0 } frozen
            ? all.Where(p => !frozen.Contains(p.Name!)).ToArray()
            : all;
        var objective = Regularization.AddPenalty(b, loss, trainable, spec.Regularize, spec.LossSpan);
        if (collective) objective = WeighByShare(b, objective, inputs[0], spec.LossSpan);
        var gradients = Backward.Gradients(b, objective, trainable);
        var outs = new List<KeyValuePair<string, Node>> { new("loss", loss) };
        outs.AddRange(metrics);
        for (int i = 0; i < trainable.Length; i++)
        {
            var p = trainable[i];
            var slot = b.State(GradPrefix + p.Name, p.Shape, InitSpec.Zeros, spec.OptimizerSpan);
            outs.Add(new(TrainStep.NewPrefix + slot.Name, gradients[i]));
        }
        outs.AddRange(ctx.StateUpdates.Select(kv =>
            new KeyValuePair<string, Node>(TrainStep.NewPrefix + kv.Key.Name, kv.Value)));
        var written = outs.Select(o => o.Key).ToHashSet();
        foreach (var s in b.Nodes.Where(n => n.Op is OpKind.State or OpKind.Param))
            if (written.Add(TrainStep.NewPrefix + s.Name)) outs.Add(new(TrainStep.NewPrefix + s.Name, s));
        var gradGraph = b.Build(outs);
        var grads = new StepGraphs(gradGraph, graphs.Eval, graphs.Predict, spec, inputs, graphs.FedTarget);

        // ---- the update from the summed gradients ----
        var u = new GraphBuilder();
        var pairs = new List<KeyValuePair<Node, Node>>();
        var fed = new List<Node>();
        foreach (var p in trainable)
        {
            var param = u.Param(p.Name!, p.Shape, p.Attrs.Init!, p.Span);
            var g = u.Input(GradPrefix + p.Name, p.Shape, spec.OptimizerSpan);
            fed.Add(g);
            pairs.Add(new(param, g));
        }
        var clipped = Regularization.Clip(u, pairs, spec.Clip, spec.OptimizerSpan);
        var lr = u.Input(TrainStep.LrInput, Shape.Scalar, spec.OptimizerSpan);
        var t = u.Input(TrainStep.StepInput, Shape.Scalar, spec.OptimizerSpan);
        var update = Optimizers.Apply(u, clipped, spec.Optimizer, lr, t, spec.OptimizerSpan);
        var uouts = update.Params.Concat(update.States)
            .Select(kv => new KeyValuePair<string, Node>(TrainStep.NewPrefix + kv.Key.Name, kv.Value)).ToList();
        var updateGraph = u.Build(uouts);
        // the update has no evaluation or prediction: its own graph stands in for them (never run)
        var upd = new StepGraphs(updateGraph, updateGraph, updateGraph, spec with { Metrics = [] }, fed, false);
        return new DataParallelStep(grads, upd, trainable, collective);
    }

    /// <summary>The objective times this rank's rows over the global batch's rows (Σranks rows), counted from the
    /// batch axis of <paramref name="input"/>.</summary>
    private static Node WeighByShare(GraphBuilder b, Node objective, Node input, SourceSpan span)
    {
        var e = new Emit(b, span);
        var rows = e.SumAll(b.Const(1, span, new Shape(input.Shape[0])));
        return e.Mul(objective, e.Div(rows, b.RankSum(rows, span)));
    }
}
