using Nn.Runtime.IR;

namespace Nn.Runtime.Ops;

/// <summary>
/// Metrics as graph nodes: each returns a scalar, the mean over the batch. Metrics have no gradient and are
/// never added to the loss; the trainer averages them over an epoch weighted by batch size.
/// </summary>
internal static class Metrics
{
    /// <summary>The metric names the language knows, for <see cref="Build"/>.</summary>
    public static readonly IReadOnlyList<string> Kinds = ["accuracy", "mae", "mse"];

    /// <summary>A metric by its language name.</summary>
    /// <exception cref="ArgumentException">for an unknown name</exception>
    public static Node Build(string kind, GraphBuilder b, Node prediction, Node target, SourceSpan span) => kind switch
    {
        "accuracy" => Accuracy(b, prediction, target, span),
        "mae" => Losses.Mae(b, prediction, target, span),
        "mse" => Losses.Mse(b, prediction, target, span),
        _ => throw new ArgumentException($"unknown metric `{kind}` (known: {string.Join(", ", Kinds)})", nameof(kind)),
    };

    /// <summary>
    /// The fraction of correct predictions. With one output per example (a last axis of size 1) the prediction is
    /// a probability and is correct when (p ≥ 0.5) equals the 0/1 target; if the prediction node is a sigmoid,
    /// its logit is compared with 0 instead (the same decision, without rounding at the boundary). With k ≥ 2
    /// outputs the arg-max of the prediction is compared with the class index (or with the arg-max of a
    /// distribution target). Target shapes follow <see cref="Losses"/>; a mismatch is NN0210.
    /// </summary>
    public static Node Accuracy(GraphBuilder b, Node prediction, Node target, SourceSpan span)
    {
        var e = new Emit(b, span);
        var p = prediction.Shape;
        if (p.Rank > 0 && p[-1].IsOne)
        {
            var t = Losses.SameShape(b, prediction, target, "accuracy", span);
            var decided = prediction.Op == OpKind.Sigmoid
                ? b.Binary(OpKind.GreaterEqual, prediction.Inputs[0], e.C(0), span)
                : b.Binary(OpKind.GreaterEqual, prediction, e.C(0.5), span);
            return e.MeanAll(b.Binary(OpKind.Equal, decided, t, span));
        }
        var predicted = b.Add(OpKind.ArgMax, [prediction], new OpAttrs { Axes = [p.Rank - 1] }, span);
        var actual = Losses.IsClassIndices(prediction, target, "accuracy")
            ? b.Reshape(target, predicted.Shape, span) // the indices themselves, as [.., 1]
            : b.Add(OpKind.ArgMax, [target], new OpAttrs { Axes = [p.Rank - 1] }, span);
        return e.MeanAll(b.Binary(OpKind.Equal, predicted, actual, span));
    }
}
