using Nn.Runtime.Autodiff;
using Nn.Runtime.IR;
using Nn.Runtime.Ops;
using Nn.Runtime.Rewrite;
using Nn.Runtime.Training;

namespace Nn.Runtime.Distributed;

/// <summary>The graphs one stage runs: <see cref="Forward"/> (its activations in, its activations out),
/// <see cref="Backward"/> (the forward recomputed, GPipe's re-materialisation, then the gradients of its Params and of
/// its incoming activations given the gradients of its outgoing ones) and <see cref="Update"/> (clipping,
/// regularisation and the optimizer on its own Params, from the gradients summed over the micro-batches).</summary>
internal sealed record StageGraphs(PipelineStage Stage, Graph Forward, Graph Backward, Graph Update,
    IReadOnlyList<Node> Trainable, IReadOnlyList<Node> Owned);

/// <summary>
/// A training step cut into a pipeline: the cut, every stage's graphs and the loss graph of the last stage. The loss
/// is computed once on the whole batch's output, as torchgpipe does (the output's micro-batches put back together),
/// so any loss (class weights, a loss written in the language) and every metric equal the single process's; its
/// gradient with respect to the output is split into micro-batches again for the backward passes.
/// Names: activations cross as <c>pipe:a&lt;id&gt;</c> (the forward node's id), their gradients as
/// <c>pipe:g&lt;id&gt;</c>; a Param's gradient is <c>grad:&lt;path&gt;</c>.
/// </summary>
internal sealed class PipelineGraphs
{
    /// <summary>The Input of the loss graph holding the network's output.</summary>
    public const string OutputInput = "pipe:output";
    /// <summary>The loss graph's output: the loss's gradient with respect to the network's output.</summary>
    public const string OutputGradient = "pipe:doutput";

    private PipelineGraphs(PipelineCut cut, IReadOnlyList<StageGraphs> stages, Graph loss, StepGraphs whole)
    {
        Cut = cut; Stages = stages; Loss = loss; Whole = whole;
    }

    /// <summary>Where the forward graph was cut.</summary>
    public PipelineCut Cut { get; }
    /// <summary>Every stage's graphs.</summary>
    public IReadOnlyList<StageGraphs> Stages { get; }
    /// <summary>The last stage's loss graph: inputs <see cref="OutputInput"/>, the target (or the data inputs that
    /// compute it); outputs <c>loss</c>, <c>metric:&lt;name&gt;</c> and <see cref="OutputGradient"/>.</summary>
    public Graph Loss { get; }
    /// <summary>The single-process graphs this pipeline computes.</summary>
    public StepGraphs Whole { get; }

    /// <summary>Activation name of a forward node.</summary>
    public static string Act(Node n) => "pipe:a" + n.Id;
    /// <summary>Activation-gradient name of a forward node.</summary>
    public static string Grad(Node n) => "pipe:g" + n.Id;
    /// <summary>The Input a stage reads a dropout mask node's rows from.</summary>
    public static string Mask(Node n) => "pipe:m" + n.Id;
    /// <summary>The update's output with the sum of its squared gradients (with <c>clip = norm c</c>).</summary>
    public const string SquaredNorm = "pipe:sq";
    /// <summary>The update's Input with the factor every gradient is scaled by (with <c>clip = norm c</c>): computed
    /// by the executor from every stage's <see cref="SquaredNorm"/>, as the single process computes it from all the
    /// gradients.</summary>
    public const string ClipScale = "pipe:clipscale";
    /// <summary>The gradient output of a Param.</summary>
    public static string ParamGrad(string path) => "grad:" + path;

    /// <summary>Cuts the training step of <paramref name="graphs"/> into <paramref name="stages"/> stages.</summary>
    /// <exception cref="NnRuntimeException">NN0821, NN0822 for a network a pipeline cannot run</exception>
    public static PipelineGraphs Build(StepGraphs graphs, int stages, string network)
    {
        var forward = graphs.Forward ?? throw Throw.Bug("the step graphs were built without their forward pass");
        var spec = graphs.Spec;
        var fb = new GraphBuilder();
        var ctx = new ForwardContext(fb, training: true);
        var output = forward(ctx);
        var cut = PipelineCut.Choose(fb.Nodes, output, stages, network,
            ctx.StateUpdates.Select(u => u.Key).ToHashSet());
        var frozen = spec.Frozen ?? new HashSet<string>();
        var used = cut.Stages.SelectMany(s => s.Params).ToHashSet();
        var unused = fb.Nodes.Where(n => n.Op == OpKind.Param && !used.Contains(n)).ToArray();
        var result = cut.Stages.Select(s =>
        {
            // Params no stage uses are the last stage's (their gradient is zero; the optimizer still owns them)
            var owned = s.Index == cut.Stages.Count - 1 ? s.Params.Concat(unused).ToArray() : s.Params.ToArray();
            var trainable = owned.Where(p => !frozen.Contains(p.Name!)).ToArray();
            return new StageGraphs(s, StageForward(s), StageBackward(s, trainable), Update(trainable, spec),
                trainable, owned);
        }).ToArray();
        return new PipelineGraphs(cut, result, LossGraph(output, spec), graphs);
    }

    /// <summary>Copies a stage's nodes into <paramref name="b"/>: its incoming activations become Inputs, the nodes
    /// that depend on no data (constants, Params) are copied where they are needed.</summary>
    private static Func<Node, Node> Copier(GraphBuilder b, PipelineStage s)
    {
        var map = new Dictionary<int, Node>();
        foreach (var x in s.In) map[x.Id] = b.Input(Act(x), x.Shape, x.Span);
        Node Map(Node x)
        {
            if (map.TryGetValue(x.Id, out var done)) return done;
            // a dropout mask is drawn for the whole batch by the executor and fed by rows (Mask), so that every
            // micro-batch gets the single process's mask, and the backward's recomputation the forward's
            var copy = x.Op == OpKind.DropoutMask
                ? b.Input(Mask(x), x.Shape, x.Span)
                : Rebuild.Copy(b, x, x.Inputs.Select(Map).ToArray());
            map[x.Id] = copy;
            return copy;
        }
        return Map;
    }

    private static Graph StageForward(PipelineStage s)
    {
        var b = new GraphBuilder();
        var map = Copier(b, s);
        return b.Build(s.Out.Select(o => KeyValuePair.Create(Act(o), map(o))).ToArray());
    }

    private static Graph StageBackward(PipelineStage s, IReadOnlyList<Node> trainable)
    {
        var b = new GraphBuilder();
        var map = Copier(b, s);
        var outs = s.Out.Select(map).ToArray();
        Node? objective = null;
        foreach (var (o, x) in s.Out.Zip(outs))
        {
            // Σ out ⊙ g: its gradient with respect to out is g, so the walker runs the vector-Jacobian product
            var g = b.Input(Grad(o), o.Shape, o.Span);
            var term = b.Reduce(OpKind.Sum, b.Binary(OpKind.Mul, x, g, o.Span), [], false, o.Span);
            objective = objective is null ? term : b.Binary(OpKind.Add, objective, term, o.Span);
        }
        var ins = s.In.Select(map).ToArray();
        trainable = trainable.Where(s.Params.Contains).ToArray(); // a Param no stage uses has no gradient to output
        var ps = trainable.Select(map).ToArray();
        var grads = Autodiff.Backward.Gradients(b, objective!, ps.Concat(ins).ToArray());
        var named = trainable.Select((p, i) => KeyValuePair.Create(ParamGrad(p.Name!), grads[i]))
            .Concat(s.In.Select((x, i) => KeyValuePair.Create(Grad(x), grads[ps.Length + i])));
        return b.Build(named.ToArray());
    }

    private static Graph LossGraph(Node output, TrainSpec spec)
    {
        var b = new GraphBuilder();
        var ctx = new ForwardContext(b, training: true);
        var o = b.Input(OutputInput, output.Shape, output.Span);
        var (loss, metrics) = TrainStep.LossAndMetrics(ctx, o, spec);
        var g = Autodiff.Backward.Gradients(b, loss, [o])[0];
        return b.Build(new[] { KeyValuePair.Create("loss", loss), KeyValuePair.Create(OutputGradient, g) }
            .Concat(metrics).ToArray());
    }

    /// <summary>A stage's update: its Params, their summed gradients fed as <c>grad:&lt;path&gt;</c>, the
    /// regularisation penalty's gradient added, values clipped, the optimizer applied (outputs <c>new:</c> as the
    /// training step's).</summary>
    private static Graph Update(IReadOnlyList<Node> trainable, TrainSpec spec)
    {
        var b = new GraphBuilder();
        var span = spec.OptimizerSpan;
        var ps = trainable.Select(p => Rebuild.Copy(b, p, [])).ToArray();
        var grads = ps.Select(p => b.Input(ParamGrad(p.Name!), p.Shape, span)).ToArray();
        if (!spec.Regularize.IsNone && ps.Length > 0)
        {
            var penalty = Regularization.AddPenalty(b, b.Const(0, span), ps, spec.Regularize, spec.LossSpan);
            var pg = Autodiff.Backward.Gradients(b, penalty, ps);
            grads = grads.Zip(pg, (g, p) => b.Binary(OpKind.Add, g, p, span)).ToArray();
        }
        var pairs = ps.Zip(grads, (p, g) => new KeyValuePair<Node, Node>(p, g)).ToArray();
        var clipped = Regularization.Clip(b, pairs, new ClipSpec(Value: spec.Clip.Value), span);
        var outputs = new List<KeyValuePair<string, Node>>();
        if (spec.Clip.Norm is not null && clipped.Count > 0)
        {
            // the norm spans every stage: this stage's Σg² goes out, the factor min(1, c/(‖g‖ + 1e-6)) comes in
            var e = new Emit(b, span);
            outputs.Add(new(SquaredNorm, clipped.Select(kv => e.SumAll(e.Square(kv.Value))).Aggregate(e.Add)));
            var scale = b.Input(ClipScale, Shape.Scalar, span);
            clipped = clipped.Select(kv => new KeyValuePair<Node, Node>(kv.Key, e.Mul(kv.Value, scale))).ToArray();
        }
        var lr = b.Input(TrainStep.LrInput, Shape.Scalar, span);
        var t = b.Input(TrainStep.StepInput, Shape.Scalar, span);
        var update = Optimizers.Apply(b, clipped, spec.Optimizer, lr, t, span);
        outputs.AddRange(update.Params.Concat(update.States)
            .Select(kv => KeyValuePair.Create(TrainStep.NewPrefix + kv.Key.Name, kv.Value)));
        return b.Build(outputs);
    }
}
