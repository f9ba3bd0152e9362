using Nn.Runtime.IR;

namespace Nn.Runtime.Ops;

/// <summary>
/// What a forward pass is built for, handed to the code that builds it (the compiler evaluating a network):
/// the builder, whether this is the training graph, and a sink for state updates. Layers whose training
/// behaviour writes state (<see cref="Layers.BatchNorm(ForwardContext, Node, string, SourceSpan, double, double)"/>)
/// record the new value here; the training step outputs it as <c>new:&lt;state name&gt;</c>.
/// </summary>
internal sealed class ForwardContext(GraphBuilder builder, bool training)
{
    private readonly List<KeyValuePair<Node, Node>> _updates = [];

    /// <summary>The builder the forward pass is added to.</summary>
    public GraphBuilder Builder { get; } = builder;
    /// <summary>True for the training graph (dropout on, batch statistics), false for evaluation and
    /// prediction.</summary>
    public bool Training { get; } = training;
    /// <summary>True for a rank's share of a data-parallel batch (<c>Distributed.DataParallelStep</c>): batch
    /// statistics are summed over the ranks (<see cref="OpKind.RankSum"/>), so they are the global batch's.</summary>
    public bool AcrossRanks { get; init; }
    /// <summary>State nodes and their new values, in the order recorded.</summary>
    public IReadOnlyList<KeyValuePair<Node, Node>> StateUpdates => _updates;

    /// <summary>Record that <paramref name="state"/> (a State node) becomes <paramref name="value"/> after the
    /// step.</summary>
    /// <exception cref="InvalidOperationException">when the node is not a State, the shapes differ, or it was already
    /// updated</exception>
    public void UpdateState(Node state, Node value)
    {
        if (state.Op != OpKind.State) throw new InvalidOperationException($"{state} is a {state.Op}, not a State");
        if (!state.Shape.Equals(value.Shape))
            throw new InvalidOperationException(
                $"state `{state.Name}` has shape {state.Shape} but its update has {value.Shape}");
        if (_updates.Any(u => ReferenceEquals(u.Key, state)))
            throw new InvalidOperationException($"state `{state.Name}` is updated twice in one step");
        _updates.Add(new(state, value));
    }
}

/// <summary>The result of batch normalization: the normalized output and, in training, the running statistics'
/// new values (State node → new value; empty in evaluation).</summary>
internal sealed record BatchNormResult(Node Output, IReadOnlyList<KeyValuePair<Node, Node>> Updates);

/// <summary>Layers whose behaviour differs between training and evaluation.</summary>
internal static class Layers
{
    /// <summary>
    /// Inverted dropout: in training, each element is zeroed with probability <paramref name="p"/> and the rest
    /// are scaled by 1/(1−p), so evaluation (and p = 0) is the identity with no node added.
    /// </summary>
    /// <exception cref="ShapeException">NN0208 when p is outside [0, 1)</exception>
    public static Node Dropout(GraphBuilder b, Node x, double p, bool training, SourceSpan span)
    {
        if (!(p >= 0 && p < 1)) throw new ShapeException("NN0208", $"`dropout` needs a probability in [0, 1), got {p}");
        if (!training || p == 0) return x;
        return b.Binary(OpKind.Mul, x, b.DropoutMask(x, p, span), span);
    }

    /// <summary>Dropout in the context's mode.</summary>
    public static Node Dropout(ForwardContext ctx, Node x, double p, SourceSpan span) =>
        Dropout(ctx.Builder, x, p, ctx.Training, span);

    /// <summary>The running statistics' default momentum (Keras' meaning: running = m·running + (1−m)·batch;
    /// 0.9 here equals PyTorch's default momentum 0.1).</summary>
    public const double DefaultMomentum = 0.9;
    /// <summary>The default ε added to the variance (PyTorch's 1e-5).</summary>
    public const double DefaultEps = 1e-5;

    /// <summary>
    /// Batch normalization over every axis but the last (the feature or channel axis, size c):
    /// y = gain · (x − μ) / √(σ² + ε) + bias. Creates Params <c>path.gain</c> [c] (ones) and <c>path.bias</c> [c]
    /// (zeros) and States <c>path.mean</c> [c] (zeros) and <c>path.var</c> [c] (ones).
    /// In training μ and σ² are the batch's mean and (biased) variance, and the result carries the updated running
    /// statistics m·running + (1−m)·batch; in evaluation μ and σ² are the running statistics and there are no updates.
    /// <paramref name="acrossRanks"/> (a data-parallel rank's share of the batch) takes the statistics of the global
    /// batch, as PyTorch's SyncBatchNorm: μ = Σranks(Σrows x) / n, σ² = Σranks(Σrows (x − μ)²) / n with n the global
    /// count, the sums across ranks being <see cref="OpKind.RankSum"/> nodes (their adjoints carry the other ranks'
    /// terms of the gradient).
    /// </summary>
    /// <exception cref="ShapeException">NN0202 for a scalar, NN0208 when the last axis is not fixed or m ∉ [0,
    /// 1)</exception>
    public static BatchNormResult BatchNorm(GraphBuilder b, Node x, string path, bool training, SourceSpan span,
        double momentum = DefaultMomentum, double eps = DefaultEps, bool acrossRanks = false)
    {
        var s = x.Shape;
        if (s.Rank < 2)
            throw new ShapeException("NN0202",
                $"`batchNorm` needs a batch axis and a feature axis, but the value is {s}");
        if (!s[-1].IsFixed)
            throw new ShapeException("NN0208", $"`batchNorm` needs a fixed feature axis, but the value is {s}");
        if (!(momentum >= 0 && momentum < 1))
            throw new ShapeException("NN0208", $"`batchNorm` momentum must be in [0, 1), got {momentum}");
        var e = new Emit(b, span);
        var c = Shape.Of(s[-1].Size);
        var gain = b.Param(path + ".gain", c, InitSpec.Ones, span);
        var bias = b.Param(path + ".bias", c, InitSpec.Zeros, span);
        var runMean = b.State(path + ".mean", c, InitSpec.Zeros, span);
        var runVar = b.State(path + ".var", c, InitSpec.Ones, span);
        Node mean, variance;
        var updates = new List<KeyValuePair<Node, Node>>();
        if (training)
        {
            int[] axes = Enumerable.Range(0, s.Rank - 1).ToArray();
            if (acrossRanks)
            {
                var count = b.RankSum(e.SumAll(b.Const(1, span, new Shape(s.ToArray()[..^1]))), span);
                Node GlobalMean(Node v) => e.Div(b.RankSum(b.Reduce(OpKind.Sum, v, axes, false, span), span), count);
                mean = GlobalMean(x);
                variance = GlobalMean(e.Square(e.Sub(x, mean)));
            }
            else
            {
                mean = b.Reduce(OpKind.Mean, x, axes, false, span);
                variance = b.Reduce(OpKind.Mean, e.Square(e.Sub(x, mean)), axes, false, span);
            }
            updates.Add(new(runMean, e.Add(e.Scale(momentum, runMean), e.Scale(1 - momentum, mean))));
            updates.Add(new(runVar, e.Add(e.Scale(momentum, runVar), e.Scale(1 - momentum, variance))));
        }
        else
        {
            mean = runMean;
            variance = runVar;
        }
        var normalized = e.Div(e.Sub(x, mean), e.Sqrt(e.Add(variance, e.C(eps))));
        return new BatchNormResult(e.Add(e.Mul(gain, normalized), bias), updates);
    }

    /// <summary>Batch normalization in the context's mode; in training the running statistics' updates are
    /// recorded in the context.</summary>
    public static Node BatchNorm(ForwardContext ctx, Node x, string path, SourceSpan span,
        double momentum = DefaultMomentum, double eps = DefaultEps)
    {
        var r = BatchNorm(ctx.Builder, x, path, ctx.Training, span, momentum, eps, ctx.AcrossRanks);
        foreach (var u in r.Updates) ctx.UpdateState(u.Key, u.Value);
        return r.Output;
    }
}
