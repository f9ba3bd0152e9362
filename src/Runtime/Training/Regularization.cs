using Nn.Runtime.IR;
using Nn.Runtime.Ops;

namespace Nn.Runtime.Training;

/// <summary>
/// The <c>regularize</c> field: penalties added to the loss in the step graph, L1·Σ|w| + L2·Σw² (Keras' convention:
/// no ½ on the L2 term), summed over the weights — the Params with two or more axes (dense matrices and conv
/// kernels), not biases or normalization gains, which the usual practice leaves unpenalized.
/// </summary>
internal sealed record RegularizationSpec(double L1 = 0, double L2 = 0)
{
    /// <summary>No penalty.</summary>
    public static readonly RegularizationSpec None = new();
    /// <summary>True when there is nothing to add.</summary>
    public bool IsNone => L1 == 0 && L2 == 0;
}

/// <summary>
/// The <c>clip</c> field: gradient clipping applied before the optimizer. <see cref="Norm"/> rescales all gradients
/// together when their global L2 norm exceeds it (g·min(1, c/(‖g‖ + 1e-6)), as PyTorch's clip_grad_norm_);
/// <see cref="Value"/> clamps each element to [−c, c]. When both are given, values are clamped first.
/// </summary>
internal sealed record ClipSpec(double? Norm = null, double? Value = null)
{
    /// <summary>No clipping.</summary>
    public static readonly ClipSpec None = new();
}

/// <summary>Regularization and clipping as graph nodes.</summary>
internal static class Regularization
{
    /// <summary>True for the Params the penalties apply to (two or more axes).</summary>
    public static bool IsWeight(Node param) => param.Op == OpKind.Param && param.Shape.Rank >= 2;

    /// <summary><paramref name="loss"/> plus the penalty over the weights among <paramref name="parameters"/>
    /// (the loss itself when the spec is empty or there are no weights).</summary>
    public static Node AddPenalty(GraphBuilder b, Node loss, IEnumerable<Node> parameters, RegularizationSpec spec,
        SourceSpan span)
    {
        if (spec.L1 < 0 || spec.L2 < 0)
            throw new ArgumentException($"regularization factors must not be negative, got l1 {spec.L1}, l2 {spec.L2}");
        if (spec.IsNone) return loss;
        var e = new Emit(b, span);
        var total = loss;
        foreach (var w in parameters.Where(IsWeight))
        {
            if (spec.L1 != 0) total = e.Add(total, e.Scale(spec.L1, e.SumAll(e.Abs(w))));
            if (spec.L2 != 0) total = e.Add(total, e.Scale(spec.L2, e.SumAll(e.Square(w))));
        }
        return total;
    }

    /// <summary>The gradients after clipping (the same list when the spec is empty).</summary>
    public static IReadOnlyList<KeyValuePair<Node, Node>> Clip(GraphBuilder b,
        IReadOnlyList<KeyValuePair<Node, Node>> grads, ClipSpec spec, SourceSpan span)
    {
        if (spec.Norm is <= 0) throw new ArgumentException($"`clip = norm c` needs c > 0, got {spec.Norm}");
        if (spec.Value is <= 0) throw new ArgumentException($"`clip = value c` needs c > 0, got {spec.Value}");
        var e = new Emit(b, span);
        var result = grads;
        if (spec.Value is double c)
            result = result.Select(kv => new KeyValuePair<Node, Node>(kv.Key, e.Clamp(kv.Value, -c, c))).ToArray();
        if (spec.Norm is double max && result.Count > 0)
        {
            var sq = result.Select(kv => e.SumAll(e.Square(kv.Value))).Aggregate(e.Add);
            var scale = e.Min(e.C(1), e.Div(e.C(max), e.Add(e.Sqrt(sq), e.C(1e-6))));
            result = result.Select(kv => new KeyValuePair<Node, Node>(kv.Key, e.Mul(kv.Value, scale))).ToArray();
        }
        return result;
    }
}
