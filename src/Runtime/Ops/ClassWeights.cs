using Nn.Runtime.IR;

namespace Nn.Runtime.Ops;

/// <summary>
/// Classification losses with a weight per class (the <c>classWeights</c> field of a <c>train</c> block), normalised
/// as PyTorch's <c>CrossEntropyLoss(weight = w)</c> with <c>reduction = 'mean'</c>: Σᵢ w[yᵢ]·ℓᵢ / Σᵢ w[yᵢ], where ℓᵢ
/// is row i's unweighted loss and yᵢ its class.
/// <list type="bullet">
/// <item><c>softmaxCrossEntropy</c>, <c>crossEntropy</c>: ℓᵢ = −Σ_k tᵢₖ log pᵢₖ and the row's weight is
///   Σ_k tᵢₖ w_k, which is w[yᵢ] for class indices (one-hot) and the target's expected weight for a distribution;
///   one weight per class of the prediction's last axis.</item>
/// <item><c>binaryCrossEntropy</c>: each element is a row of class 0 or 1, ℓ = −[t log p + (1 − t) log(1 − p)]
///   (from the sigmoid's logit when there is one, as <see cref="Losses.BinaryCrossEntropy"/>) with weight
///   w₀(1 − t) + w₁t; two weights.</item>
/// </list>
/// A batch whose rows all weigh 0 has loss 0 (the denominator is at least <see cref="Tiny"/>), where PyTorch gives
/// NaN.
/// </summary>
internal static class ClassWeights
{
    /// <summary>The least denominator.</summary>
    public const double Tiny = 1e-12;

    /// <summary>True for the losses that take class weights.</summary>
    public static bool Takes(LossKind loss) =>
        loss == LossKind.SoftmaxCrossEntropy || loss == LossKind.CrossEntropy || loss == LossKind.BinaryCrossEntropy;

    /// <summary>How many weights <paramref name="loss"/> takes for a prediction of shape
    /// <paramref name="prediction"/>: its classes (the last axis) for the categorical cross-entropies, 2 for binary
    /// cross-entropy; null when the loss takes none or the class axis is not fixed.</summary>
    public static int? Count(LossKind loss, Shape prediction) =>
        loss == LossKind.BinaryCrossEntropy ? 2
        : Takes(loss) && prediction.Rank > 0 && prediction[-1].IsFixed ? prediction[-1].Size
        : null;

    /// <summary>The weighted loss (a scalar). Throws <see cref="ArgumentException"/> for a loss that takes no
    /// weights or a negative weight, <see cref="ShapeException"/> NN0435 for a count that does not fit and NN0210
    /// for a target that does not fit the loss.</summary>
    public static Node Build(GraphBuilder b, LossKind loss, Node prediction, Node target,
        IReadOnlyList<double> weights, SourceSpan span)
    {
        if (!Takes(loss)) throw new ArgumentException($"class weights need a classification loss, not `{loss.Name}`");
        if (weights.Any(w => !(w >= 0) || double.IsInfinity(w)))
            throw new ArgumentException("class weights must be finite and not negative");
        if (Count(loss, prediction.Shape) is not { } count || count != weights.Count)
            throw new ShapeException("NN0435",
                $"`{loss.Name}` on a prediction {prediction.Shape} takes one class weight per class, "
                + $"not {weights.Count}");
        var e = new Emit(b, span);
        Node rows, rowWeights;
        if (loss == LossKind.BinaryCrossEntropy)
        {
            var t = Losses.SameShape(b, prediction, target, loss.Name, span);
            if (prediction.Op == OpKind.Sigmoid)
            {
                var z = prediction.Inputs[0];
                rows = e.Sub(e.U(OpKind.Softplus, z), e.Mul(t, z));
            }
            else
            {
                var p = e.Clamp(prediction, Losses.Eps, 1 - Losses.Eps);
                rows = e.Neg(e.Add(e.Mul(t, e.Log(p)), e.Mul(e.Sub(e.C(1), t), e.Log(e.Sub(e.C(1), p)))));
            }
            rowWeights = e.Add(e.C(weights[0]), e.Scale(weights[1] - weights[0], t));
        }
        else
        {
            var t = Losses.Distribution(b, prediction, target, loss.Name, span);
            var logp = Losses.LogProbabilities(b, prediction, loss == LossKind.SoftmaxCrossEntropy, span);
            rows = e.Neg(e.SumLast(e.Mul(t, logp)));
            var w = b.Concat(weights.Select(x => b.Const(x, span, Shape.Of(1))).ToArray(), 0, span);
            rowWeights = e.SumLast(e.Mul(t, w));
        }
        return e.Div(e.SumAll(e.Mul(rowWeights, rows)), e.Max(e.SumAll(rowWeights), e.C(Tiny)));
    }
}
