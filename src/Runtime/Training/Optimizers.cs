using Nn.Runtime.IR;
using Nn.Runtime.Ops;

namespace Nn.Runtime.Training;

/// <summary>
/// An optimizer and its hyper-parameters, as the <c>optimizer</c> field of a <c>train</c> block gives them.
/// Fields left null take the kind's default (see <see cref="EffectiveLr"/>, <see cref="EffectiveEps"/>,
/// <see cref="EffectiveWeightDecay"/>). Defaults follow PyTorch except where noted:
/// <list type="table">
/// <item><term>sgd</term>
///   <description>lr 0.01, momentum 0, nesterov false, weightDecay 0 (coupled: g += wd·p)</description></item>
/// <item><term>adam</term>
///   <description>lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8, weightDecay 0 (coupled)</description></item>
/// <item><term>adamW</term>
///   <description>lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8, weightDecay 1e-2 (decoupled)</description></item>
/// <item><term>rmsprop</term>
///   <description>lr 1e-3, rho 0.9, eps 1e-7, momentum 0 (Keras' rho and eps; PyTorch's are 0.99 and
///   1e-8)</description></item>
/// <item><term>nadam</term>
///   <description>lr 2e-3, beta1 0.9, beta2 0.999, eps 1e-8, momentum decay 4e-3, weightDecay 0 (PyTorch's
///   NAdam)</description></item>
/// <item><term>adagrad</term><description>lr 0.01, eps 1e-10, accumulator starting at 0</description></item>
/// </list>
/// </summary>
internal sealed record OptimizerSpec
{
    /// <summary>The optimizer (<see cref="OptimizerKind.Builtins"/>).</summary>
    public OptimizerKind Kind { get; init; } = OptimizerKind.Sgd;
    /// <summary>The base learning rate (a schedule scales it on the host); null: the kind's default.</summary>
    public double? Lr { get; init; }
    /// <summary>Momentum of sgd and rmsprop (0: none).</summary>
    public double Momentum { get; init; }
    /// <summary>Nesterov momentum for sgd (needs momentum &gt; 0).</summary>
    public bool Nesterov { get; init; }
    /// <summary>Adam's first-moment decay.</summary>
    public double Beta1 { get; init; } = 0.9;
    /// <summary>Adam's second-moment decay.</summary>
    public double Beta2 { get; init; } = 0.999;
    /// <summary>The denominator's ε; null: the kind's default.</summary>
    public double? Eps { get; init; }
    /// <summary>Weight decay: decoupled for adamW, added to the gradient for the others; null: the kind's
    /// default.</summary>
    public double? WeightDecay { get; init; }
    /// <summary>RMSprop's squared-gradient decay.</summary>
    public double Rho { get; init; } = 0.9;

    /// <summary>The learning rate in use.</summary>
    public double EffectiveLr => Lr ?? Kind.DefaultLr;
    /// <summary>The ε in use.</summary>
    public double EffectiveEps => Eps ?? Kind.DefaultEps;
    /// <summary>The weight decay in use.</summary>
    public double EffectiveWeightDecay => WeightDecay ?? Kind.DefaultWeightDecay;

    /// <summary>Checks the ranges; throws <see cref="ArgumentException"/> naming the field.</summary>
    public void Validate()
    {
        if (Kind is null) throw new ArgumentException("no optimizer `Kind`");
        if (!(EffectiveLr > 0)) throw new ArgumentException($"`lr` must be positive, got {EffectiveLr}");
        if (!(Momentum >= 0 && Momentum < 1))
            throw new ArgumentException($"`momentum` must be in [0, 1), got {Momentum}");
        if (Nesterov && Momentum == 0) throw new ArgumentException("`nesterov = true` needs a momentum above 0");
        if (!(Beta1 >= 0 && Beta1 < 1) || !(Beta2 >= 0 && Beta2 < 1))
            throw new ArgumentException($"`beta1` and `beta2` must be in [0, 1), got {Beta1} and {Beta2}");
        if (!(Rho >= 0 && Rho < 1)) throw new ArgumentException($"`rho` must be in [0, 1), got {Rho}");
        if (!(EffectiveEps >= 0)) throw new ArgumentException($"`eps` must not be negative, got {EffectiveEps}");
        if (!(EffectiveWeightDecay >= 0))
            throw new ArgumentException($"`weightDecay` must not be negative, got {EffectiveWeightDecay}");
    }
}

/// <summary>The new values an optimizer step produces: for each Param its updated value, for each optimizer State
/// (created by the step, named <c>&lt;param&gt;.&lt;slot&gt;</c>) its updated value.</summary>
internal sealed record OptimizerUpdate(
    IReadOnlyList<KeyValuePair<Node, Node>> Params, IReadOnlyList<KeyValuePair<Node, Node>> States);

/// <summary>
/// Optimizer updates as graph nodes, in the style of optax: the update is part of the training-step graph, the
/// moments are State nodes (zeros at the start) whose new values are outputs of the step. The learning rate is
/// a scalar Input fed per step (so schedules run on the host) and <c>t</c> is the 1-based step number, a scalar
/// Input, used by Adam's bias correction. Formulas (g the gradient, p the parameter, after weight decay):
/// <list type="bullet">
/// <item>sgd: b ← μb + g; p ← p − lr·(nesterov ? g + μb : b) (PyTorch; with μ = 0, p ← p − lr·g). State
///   <c>.m</c>.</item>
/// <item>adam/adamW: m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε);
///   adamW also subtracts lr·wd·p (decoupled). States <c>.m</c>, <c>.v</c>.</item>
/// <item>nadam (PyTorch's NAdam): μₜ = β₁(1 − ½·0.96^(0.004t)), Π ← Π·μₜ; m, v as Adam's, v̂ = v/(1−β₂ᵗ);
///   p ← p − lr·[(1−μₜ)/(1−Π)·g + μₜ₊₁/(1−Π·μₜ₊₁)·m] / (√v̂ + ε). States <c>.m</c>, <c>.v</c> and the scalar
///   <c>.muProduct</c> (from 1).</item>
/// <item>rmsprop: v ← ρv + (1−ρ)g²; u = g/(√v + ε); with momentum b ← μb + u, p ← p − lr·b, else p ← p − lr·u.
///   States <c>.v</c> (and <c>.m</c>).</item>
/// <item>adagrad: s ← s + g²; p ← p − lr·g/(√s + ε). State <c>.sum</c>.</item>
/// </list>
/// </summary>
internal static class Optimizers
{
    /// <summary>The updated parameters and optimizer states for one step.</summary>
    /// <param name="b">the builder holding the parameters, gradients and inputs</param>
    /// <param name="grads">each Param with its gradient node (same shape)</param>
    /// <param name="spec">the optimizer</param>
    /// <param name="lr">the scalar learning-rate Input</param>
    /// <param name="t">the scalar 1-based step-number Input</param>
    /// <param name="span">the span given to every node (the <c>optimizer</c> field)</param>
    public static OptimizerUpdate Apply(GraphBuilder b, IReadOnlyList<KeyValuePair<Node, Node>> grads,
        OptimizerSpec spec, Node lr, Node t, SourceSpan span)
    {
        spec.Validate();
        var e = new Emit(b, span);
        var newParams = new List<KeyValuePair<Node, Node>>();
        var newStates = new List<KeyValuePair<Node, Node>>();
        double wd = spec.EffectiveWeightDecay;
        foreach (var (p, grad) in grads)
        {
            if (p.Op != OpKind.Param) throw new ArgumentException($"{p} is a {p.Op}, not a Param");
            if (!p.Shape.Equals(grad.Shape))
                throw new ArgumentException($"the gradient of `{p.Name}` has shape {grad.Shape}, not {p.Shape}");
            Node Slot(string slot, Shape shape, InitSpec init) => b.State($"{p.Name}.{slot}", shape, init, span);
            void Keep(Node state, Node value) => newStates.Add(new(state, value));
            var g = wd != 0 && !spec.Kind.DecoupledWeightDecay ? e.Add(grad, e.Scale(wd, p)) : grad;
            var step = spec.Kind.Step(new UpdateContext(e, spec, p, g, t, s => Slot(s, p.Shape, InitSpec.Zeros),
                (s, init) => Slot(s, Shape.Scalar, init), Keep)); // what lr multiplies
            newParams.Add(new(p, e.Sub(p, e.Mul(lr, step))));
        }
        return new OptimizerUpdate(newParams, newStates);
    }
}
