using Nn.Runtime.Data;
using Nn.Runtime.Autodiff;
using Nn.Runtime.IR;
using Nn.Runtime.Ops;

namespace Nn.Runtime.Training;

/// <summary>
/// Builds a network's forward pass into a builder. The compiler implements it by evaluating the network body with
/// <see cref="ForwardContext.Builder"/> and <see cref="ForwardContext.Training"/>: it creates the network's
/// Input(s) (for example <c>image</c> [n, 28, 28]) and Params, calls <see cref="Layers"/> for dropout and
/// batchNorm (which record state updates in the context) and returns the output node. It is called once per
/// graph (training, evaluation, prediction), each time into a fresh builder, and must create the same Params
/// (names, shapes, initializers) each time.
/// </summary>
internal delegate Node ForwardBuilder(ForwardContext context);

/// <summary>
/// What to train with, as a <c>train</c> block gives it (the parts that shape the step graph).
/// </summary>
internal sealed record TrainSpec
{
    /// <summary>The loss (<see cref="LossKind.Builtins"/>, or one written in the language:
    /// <see cref="LossKind.Written"/>).</summary>
    public LossKind Loss { get; init; } = LossKind.Mse;
    /// <summary>Huber's δ when <see cref="Loss"/> is <c>huber</c>.</summary>
    public double HuberDelta { get; init; } = 1.0;
    /// <summary>A weight per class for the classification losses (<see cref="ClassWeights"/>); null: none.</summary>
    public IReadOnlyList<double>? ClassWeights { get; init; }
    /// <summary>Metrics (<see cref="Metric.Builtins"/>), reported in training and evaluation.</summary>
    public IReadOnlyList<Metric> Metrics { get; init; } = [];
    /// <summary>The optimizer.</summary>
    public OptimizerSpec Optimizer { get; init; } = new();
    /// <summary>L1/L2 penalties added to the training loss.</summary>
    public RegularizationSpec Regularize { get; init; } = RegularizationSpec.None;
    /// <summary>Gradient clipping.</summary>
    public ClipSpec Clip { get; init; } = ClipSpec.None;
    /// <summary>The shape of the fed target Input (for example [n] for class indices); null: the output's shape.
    /// Ignored when <see cref="Target"/> is given.</summary>
    public Shape? TargetShape { get; init; }
    /// <summary>A target computed from the network's inputs (the <c>target = input / 255.0</c> of an autoencoder),
    /// built into the same context as the forward pass; null: the target is fed as the Input <c>target</c>.</summary>
    public ForwardBuilder? Target { get; init; }
    /// <summary>The span of the <c>loss</c> field (loss and metric nodes get it).</summary>
    public SourceSpan LossSpan { get; init; } = SourceSpan.None;
    /// <summary>The span of the <c>optimizer</c> field (update nodes get it).</summary>
    public SourceSpan OptimizerSpan { get; init; } = SourceSpan.None;
    /// <summary>The paths of the Params kept fixed (<c>freeze</c>): no gradient is asked for them, no penalty, no
    /// clipping share, no optimizer state; their <c>new:</c> output is the Param itself. Null or empty: none.
    /// </summary>
    public IReadOnlySet<string>? Frozen { get; init; }
}

/// <summary>
/// The three graphs of a trainable network.
/// <list type="bullet">
/// <item><see cref="Train"/>: inputs: the network's data Input(s), <c>target</c> (unless computed), <c>lr</c> [] and
///   <c>t</c> [] (the 1-based step number); every Param and State fed by name. Outputs: <c>loss</c> (the data loss,
///   before the update and without regularization penalties), <c>metric:&lt;name&gt;</c> per metric, and
///   <c>new:&lt;name&gt;</c> for every Param and every State (optimizer moments, running statistics).</item>
/// <item><see cref="Eval"/>: dropout off, batchNorm on running statistics; outputs <c>output</c>, <c>loss</c>,
///   <c>metric:&lt;name&gt;</c>.</item>
/// <item><see cref="Predict"/>: output <c>output</c> only; needs only the data Input(s), Params and States.</item>
/// </list>
/// </summary>
internal sealed class StepGraphs
{
    internal StepGraphs(Graph train, Graph eval, Graph predict, TrainSpec spec, IReadOnlyList<Node> inputs,
        bool fedTarget, ForwardBuilder? forward = null)
    {
        Train = train; Eval = eval; Predict = predict; Spec = spec; DataInputs = inputs; FedTarget = fedTarget;
        Forward = forward;
    }

    /// <summary>The training step.</summary>
    public Graph Train { get; }
    /// <summary>The evaluation graph.</summary>
    public Graph Eval { get; }
    /// <summary>The prediction graph.</summary>
    public Graph Predict { get; }
    /// <summary>The spec the graphs were built from.</summary>
    public TrainSpec Spec { get; }
    /// <summary>The forward pass the graphs were built from (data parallelism builds its split step from it:
    /// <c>Distributed.DataParallelStep</c>; pipeline parallelism cuts it into stages); null for graphs made otherwise.
    /// </summary>
    public ForwardBuilder? Forward { get; init; }
    /// <summary>The network's data Inputs (of the training graph), in order of creation.</summary>
    public IReadOnlyList<Node> DataInputs { get; }

    /// <summary>These graphs with <paramref name="predict"/> as the prediction graph, every other part the same
    /// (a rewrite of what `nn predict` runs: <c>Rewrite.InputScale</c>).</summary>
    internal StepGraphs WithPredict(Graph predict) =>
        new(Train, Eval, predict, Spec, DataInputs, FedTarget, Forward);

    /// <summary>The names of the data inputs an executor feeds, in order, after checking that
    /// <paramref name="initial"/> holds every Param and State (what both executors require).</summary>
    /// <exception cref="ArgumentException">when the network has no data input, or a value is missing</exception>
    internal string[] CheckExecutable(IReadOnlyDictionary<string, HostTensor> initial)
    {
        if (DataInputs.Count == 0) throw new ArgumentException("the network has no data input to feed");
        foreach (var n in Params.Concat(States))
            if (!initial.ContainsKey(n.Name!)) throw new ArgumentException($"no initial value for `{n.Name}`");
        return DataInputs.Select(i => i.Name!).ToArray();
    }

    /// <summary>As <see cref="CheckExecutable"/> for the prediction graph alone: a value for each of its Params and
    /// States.</summary>
    internal string[] CheckPredictable(IReadOnlyDictionary<string, HostTensor> initial)
    {
        if (DataInputs.Count == 0) throw new ArgumentException("the network has no data input to feed");
        foreach (var n in Predict.Params.Concat(Predict.States))
            if (!initial.ContainsKey(n.Name!)) throw new ArgumentException($"no initial value for `{n.Name}`");
        return DataInputs.Select(i => i.Name!).ToArray();
    }

    /// <summary>Checks that <paramref name="inputs"/> holds one tensor per data input.</summary>
    /// <exception cref="ArgumentException">when the count differs</exception>
    internal void CheckInputCount(IReadOnlyList<HostTensor> inputs)
    {
        if (inputs.Count != DataInputs.Count)
            throw new ArgumentException(
                $"the network takes {DataInputs.Count} input{(DataInputs.Count == 1 ? "" : "s")} "
                + $"({string.Join(", ", DataInputs.Select(i => i.Name))}), but {inputs.Count} were given");
    }
    /// <summary>True when the target is fed as the Input <see cref="TrainStep.TargetInput"/>.</summary>
    public bool FedTarget { get; }
    /// <summary>The trainable parameters, in order of creation.</summary>
    public IReadOnlyList<Node> Params => Train.Params.ToArray();
    /// <summary>Every persistent State of the training graph (optimizer and layer state).</summary>
    public IReadOnlyList<Node> States => Train.States.ToArray();
    /// <summary>The metric names, in output order.</summary>
    public IReadOnlyList<string> Metrics => Spec.Metrics.Select(m => m.Name).ToArray();
}

/// <summary>Builds the training, evaluation and prediction graphs from a <see cref="ForwardBuilder"/>.</summary>
/// <example>How the compiler and the CLI drive training (C# shown; the F# is the same calls):
/// <code>
/// var spec = new TrainSpec { Loss = LossKind.SoftmaxCrossEntropy, Metrics = [Metric.Accuracy],
///     TargetShape = TrainStep.TargetShapeOf(data.Targets!.Shape),
///     Optimizer = new OptimizerSpec { Kind = OptimizerKind.Sgd, Lr = 0.05, Momentum = 0.9, Nesterov = true },
///     Regularize = new RegularizationSpec(L2: 1e-4) };
/// var graphs = TrainStep.Build(ctx => EvaluateNetwork(ctx), spec);   // the compiler's forward evaluation
/// var exec = ReferenceExecutor.FromSeed(graphs, seed: 42);           // initial values from the seed
/// var (train, validation) = data.Split(0.2);
/// var result = Trainer.Fit(graphs, exec, train, validation, new TrainOptions {
///     Epochs = 20, Batch = 64, Seed = 42,
///     Schedule = new ScheduleSpec { Kind = ScheduleKind.StepDecay, Every = 5, Factor = 0.5 },
///     Stop = new EarlyStoppingSpec { Monitor = Monitor.ValidationLoss, Patience = 3 },
///     OnEpoch = Print, OnCheckpoint = s => Save(dir, s) });   // the compiler's Checkpoint.save
/// </code></example>
internal static class TrainStep
{
    /// <summary>The shape of a fed target Input for data targets of concrete shape <paramref name="dataShape"/>
    /// ([N, ...]): the first axis becomes the batch variable <paramref name="batch"/>.</summary>
    public static Shape TargetShapeOf(int[] dataShape, string batch = "n") =>
        dataShape.Length == 0 ? throw new ArgumentException("targets need a row axis")
        : new Shape([Dim.Sym(batch), .. dataShape[1..].Select(Dim.Of)]);

    /// <summary>The name of the fed target Input.</summary>
    public const string TargetInput = "target";
    /// <summary>The name of the learning-rate Input.</summary>
    public const string LrInput = "lr";
    /// <summary>The name of the step-number Input.</summary>
    public const string StepInput = "t";
    /// <summary>The prefix of the outputs holding updated Params and States.</summary>
    public const string NewPrefix = "new:";
    /// <summary>The prefix of metric outputs.</summary>
    public const string MetricPrefix = "metric:";

    /// <summary>The three graphs. Differentiates the (regularized) loss with <see cref="Backward.Gradients"/>,
    /// clips the gradients and appends the optimizer update.</summary>
    /// <exception cref="ShapeException">from the forward pass, or NN0210 when the target does not fit the
    /// loss</exception>
    /// <exception cref="ArgumentException">for an unknown loss, metric or optimizer, bad hyper-parameters, or a network
    /// Input named like one of the step's own inputs</exception>
    public static StepGraphs Build(ForwardBuilder forward, TrainSpec spec)
    {
        spec.Optimizer.Validate();
        // ---- training ----
        var b = new GraphBuilder();
        var ctx = new ForwardContext(b, training: true);
        var output = forward(ctx);
        var inputs = b.Nodes.Where(n => n.Op == OpKind.Input).ToArray();
        foreach (var reserved in new[] { TargetInput, LrInput, StepInput })
            if (inputs.Any(i => i.Name == reserved))
                throw new ArgumentException(
                    $"the network input `{reserved}` has the name of a training input; rename it");
        var (loss, metrics) = LossAndMetrics(ctx, output, spec);
        var all = b.Nodes.Where(n => n.Op == OpKind.Param).ToArray();
        // frozen Params are left out of everything below: Backward computes adjoints only for nodes that depend on
        // a Param it is asked about, so a frozen first layer costs no backward work at all
        var parameters = spec.Frozen is { Count: > 0 } frozen
            ? all.Where(p => !frozen.Contains(p.Name!)).ToArray()
            : all;
        var objective = Regularization.AddPenalty(b, loss, parameters, spec.Regularize, spec.LossSpan);
        var gradients = Backward.Gradients(b, objective, parameters);
        var pairs = parameters.Zip(gradients, (p, g) => new KeyValuePair<Node, Node>(p, g)).ToArray();
        var clipped = Regularization.Clip(b, pairs, spec.Clip, spec.OptimizerSpan);
        var lr = b.Input(LrInput, Shape.Scalar, spec.OptimizerSpan);
        var t = b.Input(StepInput, Shape.Scalar, spec.OptimizerSpan);
        var update = Optimizers.Apply(b, clipped, spec.Optimizer, lr, t, spec.OptimizerSpan);
        var outs = new List<KeyValuePair<string, Node>> { new("loss", loss) };
        outs.AddRange(metrics);
        outs.AddRange(update.Params.Concat(ctx.StateUpdates).Concat(update.States)
            .Select(kv => new KeyValuePair<string, Node>(NewPrefix + kv.Key.Name, kv.Value)));
        var written = outs.Select(o => o.Key).ToHashSet();
        foreach (var s in b.Nodes.Where(n => n.Op is OpKind.State or OpKind.Param))
            if (written.Add(NewPrefix + s.Name)) outs.Add(new(NewPrefix + s.Name, s)); // unchanged state, frozen Param
        var train = b.Build(outs);

        // ---- evaluation and prediction ----
        var eb = new GraphBuilder();
        var ectx = new ForwardContext(eb, training: false);
        var eout = forward(ectx);
        var (eloss, emetrics) = LossAndMetrics(ectx, eout, spec);
        var eval = eb.Build(
            new KeyValuePair<string, Node>[] { new("output", eout), new("loss", eloss) }.Concat(emetrics));
        var pb = new GraphBuilder();
        var pout = forward(new ForwardContext(pb, training: false));
        var predict = pb.Build([new("output", pout)]);
        return new StepGraphs(train, eval, predict, spec, inputs, spec.Target is null, forward);
    }

    /// <summary>The loss and metric nodes of <paramref name="output"/> (the target fed or computed in
    /// <paramref name="ctx"/>).</summary>
    internal static (Node Loss, List<KeyValuePair<string, Node>> Metrics) LossAndMetrics(ForwardContext ctx,
        Node output, TrainSpec spec)
    {
        var b = ctx.Builder;
        var target = spec.Target is { } make
            ? make(ctx)
            : b.Input(TargetInput, spec.TargetShape ?? output.Shape, spec.LossSpan);
        var loss = spec.ClassWeights is { } w
            ? Ops.ClassWeights.Build(b, spec.Loss, output, target, w, spec.LossSpan)
            : spec.Loss.Build(b, output, target, spec.LossSpan, spec.HuberDelta);
        var metrics = spec.Metrics
            .Select(m =>
                new KeyValuePair<string, Node>(MetricPrefix + m.Name, m.Build(b, output, target, spec.LossSpan)))
            .ToList();
        return (loss, metrics);
    }
}
