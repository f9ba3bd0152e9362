using Nn.Runtime.IR;

namespace Nn.Runtime.Ops;

/// <summary>
/// The losses of the language as graph builders (named by <see cref="LossKind"/>): each takes the network's
/// prediction and the target and returns a scalar node, the mean loss over the batch. Every node gets the caller's
/// span.
/// <para>Target forms. The regression losses (<c>mse</c>, <c>mae</c>, <c>huber</c>) and
/// <c>binaryCrossEntropy</c> need a target of the prediction's shape; a target of shape [n] also fits a
/// prediction [n, 1]. The cross-entropies (<c>softmaxCrossEntropy</c>, <c>crossEntropy</c>) take, over a
/// prediction [.., k] with k ≥ 2 classes on the last axis, either class indices as floats ([..] or [.., 1],
/// one-hot encoded in the graph) or a distribution of the prediction's shape.</para>
/// <para>Reductions. Mean squared/absolute/Huber error and binary cross-entropy average over every element;
/// the categorical cross-entropies sum over the class axis and average over the rest (PyTorch's and Keras'
/// conventions).</para>
/// A target that fits none of these forms throws <see cref="ShapeException"/> NN0210 naming both shapes.
/// </summary>
internal static class Losses
{
    /// <summary>Clamp for probabilities before a logarithm (Keras' <c>epsilon()</c>).</summary>
    public const double Eps = 1e-7;

    /// <summary>Mean squared error: mean((p − t)²).</summary>
    public static Node Mse(GraphBuilder b, Node prediction, Node target, SourceSpan span)
    {
        var e = new Emit(b, span);
        var t = SameShape(b, prediction, target, "mse", span);
        return e.MeanAll(e.Square(e.Sub(prediction, t)));
    }

    /// <summary>Mean absolute error: mean(|p − t|).</summary>
    public static Node Mae(GraphBuilder b, Node prediction, Node target, SourceSpan span)
    {
        var e = new Emit(b, span);
        var t = SameShape(b, prediction, target, "mae", span);
        return e.MeanAll(e.Abs(e.Sub(prediction, t)));
    }

    /// <summary>Huber loss with threshold δ: ½d² where d = |p − t| ≤ δ, else δ(d − ½δ); averaged.
    /// Built branch-free as ½q² + δ(d − q) with q = min(d, δ), which is the same function and differentiates
    /// without a select.</summary>
    public static Node Huber(GraphBuilder b, Node prediction, Node target, SourceSpan span, double delta = 1.0)
    {
        if (!(delta > 0)) throw new ShapeException("NN0208", $"`huber` needs a positive delta, got {delta}");
        var e = new Emit(b, span);
        var t = SameShape(b, prediction, target, "huber", span);
        var d = e.Abs(e.Sub(prediction, t));
        var q = e.Min(d, e.C(delta));
        return e.MeanAll(e.Add(e.Scale(0.5, e.Square(q)), e.Scale(delta, e.Sub(d, q))));
    }

    /// <summary>
    /// Binary cross-entropy −[t log p + (1 − t) log(1 − p)], averaged over all elements. When the prediction is a
    /// <c>sigmoid</c> node the loss is computed from its logit z as softplus(z) − t·z, which is exact for any z;
    /// otherwise p is clamped to [ε, 1 − ε] with ε = <see cref="Eps"/>.
    /// </summary>
    public static Node BinaryCrossEntropy(GraphBuilder b, Node prediction, Node target, SourceSpan span)
    {
        var e = new Emit(b, span);
        var t = SameShape(b, prediction, target, "binaryCrossEntropy", span);
        if (prediction.Op == OpKind.Sigmoid)
        {
            var z = prediction.Inputs[0];
            return e.MeanAll(e.Sub(e.U(OpKind.Softplus, z), e.Mul(t, z)));
        }
        var p = e.Clamp(prediction, Eps, 1 - Eps);
        var pos = e.Mul(t, e.Log(p));
        var neg = e.Mul(e.Sub(e.C(1), t), e.Log(e.Sub(e.C(1), p)));
        return e.Neg(e.MeanAll(e.Add(pos, neg)));
    }

    /// <summary>Cross-entropy of logits: −Σ_k t_k · logSoftmax(z)_k over the last axis, averaged over the
    /// rest.</summary>
    public static Node SoftmaxCrossEntropy(GraphBuilder b, Node logits, Node target, SourceSpan span)
    {
        var e = new Emit(b, span);
        var t = Distribution(b, logits, target, "softmaxCrossEntropy", span);
        var logp = b.Softmax(OpKind.LogSoftmax, logits, -1, span);
        return e.Neg(e.MeanAll(e.SumLast(e.Mul(t, logp))));
    }

    /// <summary>Cross-entropy of probabilities: −Σ_k t_k · log p_k over the last axis, averaged over the rest.
    /// When the prediction is a softmax over the last axis, its logits go through logSoftmax instead (stable);
    /// otherwise p is clamped to [ε, 1] with ε = <see cref="Eps"/>.</summary>
    public static Node CrossEntropy(GraphBuilder b, Node probabilities, Node target, SourceSpan span)
    {
        var e = new Emit(b, span);
        var t = Distribution(b, probabilities, target, "crossEntropy", span);
        var logp = LogProbabilities(b, probabilities, logits: false, span);
        return e.Neg(e.MeanAll(e.SumLast(e.Mul(t, logp))));
    }

    /// <summary>log p over the last axis of a prediction: logSoftmax of logits; of probabilities, the logSoftmax of
    /// a softmax's logits when the prediction is a softmax over the last axis (stable), else log of p clamped to
    /// [ε, 1].</summary>
    public static Node LogProbabilities(GraphBuilder b, Node prediction, bool logits, SourceSpan span)
    {
        if (logits) return b.Softmax(OpKind.LogSoftmax, prediction, -1, span);
        var e = new Emit(b, span);
        var rank = prediction.Shape.Rank;
        return prediction.Op == OpKind.Softmax && prediction.Attrs.Axes is [var ax] && ax == rank - 1
            ? b.Softmax(OpKind.LogSoftmax, prediction.Inputs[0], -1, span)
            : e.Log(e.Clamp(prediction, Eps, 1));
    }

    /// <summary>The target in the prediction's shape, for losses comparing element by element: the target itself,
    /// or a [..] target reshaped to a [.., 1] prediction. Otherwise NN0210.</summary>
    public static Node SameShape(GraphBuilder b, Node prediction, Node target, string loss, SourceSpan span)
    {
        var p = prediction.Shape; var t = target.Shape;
        if (p.Equals(t)) return target;
        if (p.Rank == t.Rank + 1 && p[-1].IsOne && p.Dims[..^1].SequenceEqual(t.Dims))
            return b.Reshape(target, p, span);
        throw Mismatch(loss, p, t, "a target of the same shape");
    }

    /// <summary>The target as a distribution over the last axis of <paramref name="prediction"/>: a distribution
    /// of the same shape as is, or class indices ([..] or [.., 1]) one-hot encoded. Otherwise NN0210.</summary>
    public static Node Distribution(GraphBuilder b, Node prediction, Node target, string loss, SourceSpan span) =>
        IsClassIndices(prediction, target, loss) ? b.OneHot(target, prediction.Shape[-1].Size, span) : target;

    /// <summary>True when <paramref name="target"/> holds class indices for <paramref name="prediction"/> [.., k],
    /// false when it is a distribution of the same shape; NN0210 when it is neither.</summary>
    public static bool IsClassIndices(Node prediction, Node target, string loss)
    {
        var p = prediction.Shape; var t = target.Shape;
        if (p.Rank == 0) throw Mismatch(loss, p, t, "a prediction with a class axis");
        var k = p[-1];
        if (!k.IsFixed || k.Size < 2)
            throw Mismatch(loss, p, t, "two or more classes (a fixed last axis of size ≥ 2) in the prediction");
        if (p.Equals(t)) return false;
        var lead = p.Dims[..^1];
        bool indices = (t.Rank == p.Rank - 1 && t.Dims.SequenceEqual(lead))
                    || (t.Rank == p.Rank && t[-1].IsOne && t.Dims[..^1].SequenceEqual(lead));
        return indices ? true : throw Mismatch(loss, p, t, "class indices or a distribution of the same shape");
    }

    private static ShapeException Mismatch(string loss, Shape p, Shape t, string needs) =>
        new("NN0210", $"`{loss}` needs {needs}, but the prediction is {p} and the target is {t}");
}
