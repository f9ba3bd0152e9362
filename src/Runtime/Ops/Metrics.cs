using Nn.Runtime.IR;

namespace Nn.Runtime.Ops;

/// <summary>
/// Metrics as graph nodes: each returns statistics of the batch, means over its rows (<see cref="Metric"/> makes
/// the value from them, over a batch or an epoch). Metrics have no gradient and are never added to the loss.
/// </summary>
internal static class Metrics
{
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

    /// <summary>
    /// The decision and the truth of classification as 0/1 per class: with k ≥ 2 outputs, one-hot rows of the
    /// arg-max of the prediction and of the target (class indices, or the arg-max of a distribution); with one
    /// output, the positive class alone: p ≥ 0.5 (a sigmoid's logit ≥ 0) and t ≥ 0.5.
    /// </summary>
    private static (Node Predicted, Node Actual) Decisions(GraphBuilder b, Node prediction, Node target,
        string metric, SourceSpan span)
    {
        var e = new Emit(b, span);
        var p = prediction.Shape;
        if (p.Rank > 0 && p[-1].IsOne)
        {
            var t = Losses.SameShape(b, prediction, target, metric, span);
            var decided = prediction.Op == OpKind.Sigmoid
                ? b.Binary(OpKind.GreaterEqual, prediction.Inputs[0], e.C(0), span)
                : b.Binary(OpKind.GreaterEqual, prediction, e.C(0.5), span);
            return (decided, b.Binary(OpKind.GreaterEqual, t, e.C(0.5), span));
        }
        int k = p.Rank > 0 && p[-1].IsFixed ? p[-1].Size : 0;
        var classes = Losses.IsClassIndices(prediction, target, metric)
            ? target
            : b.Add(OpKind.ArgMax, [target], new OpAttrs { Axes = [p.Rank - 1] }, span);
        var predicted = b.Add(OpKind.ArgMax, [prediction], new OpAttrs { Axes = [p.Rank - 1] }, span);
        return (b.OneHot(predicted, k, span), b.OneHot(classes, k, span));
    }

    /// <summary>Means over every axis but the last (the rows, and any axes between), as a vector of the last
    /// axis' size; a prediction of rank 1 or less gives a vector of one.</summary>
    private static Node ColumnMeans(GraphBuilder b, Node x, SourceSpan span)
    {
        if (x.Shape.Rank <= 1)
            return b.Reshape(new Emit(b, span).MeanAll(x), new Shape(Dim.Of(1)), span);
        return b.Reduce(OpKind.Mean, x, Enumerable.Range(0, x.Shape.Rank - 1).ToArray(), false, span);
    }

    /// <summary>
    /// Confusion statistics per class c as a vector [3k]: the fractions of rows that are true positives of c,
    /// that are predicted c, and that are of class c (k = 1 for a single probability: the positive class).
    /// Precision, recall and f1 are ratios of these (<see cref="MacroAverage"/>), so averaging the fractions over
    /// an epoch's rows gives the epoch's exact values.
    /// </summary>
    public static Node Confusion(GraphBuilder b, Node prediction, Node target, string metric, SourceSpan span)
    {
        var (predicted, actual) = Decisions(b, prediction, target, metric, span);
        var hits = b.Binary(OpKind.Mul, predicted, actual, span);
        return b.Concat([ColumnMeans(b, hits, span), ColumnMeans(b, predicted, span), ColumnMeans(b, actual, span)],
            0, span);
    }

    /// <summary>
    /// Precision, recall or f1 from <see cref="Confusion"/> statistics. With k ≥ 2 classes, the macro average
    /// (scikit-learn's <c>average='macro'</c>): the unweighted mean over the classes that occur in the targets or
    /// in the predictions, a class's precision = TP / predicted, recall = TP / actual, f1 = 2TP / (predicted +
    /// actual), each 0 when its denominator is 0 (<c>zero_division=0</c>): a class of the targets that is never
    /// predicted counts precision 0, recall 0, f1 0; a class in neither is left out. With one output, the
    /// positive class's value (Keras' <c>Precision</c>/<c>Recall</c>, scikit-learn's <c>average='binary'</c>).
    /// </summary>
    public static double MacroAverage(string metric, ReadOnlySpan<double> means)
    {
        int k = means.Length / 3;
        double sum = 0;
        int classes = 0;
        for (int c = 0; c < k; c++)
        {
            double tp = means[c], predicted = means[k + c], actual = means[2 * k + c];
            if (k > 1 && predicted == 0 && actual == 0) continue;
            classes++;
            double num = metric == "f1" ? 2 * tp : tp;
            double den = metric switch { "precision" => predicted, "recall" => actual, _ => predicted + actual };
            sum += den > 0 ? num / den : 0;
        }
        return classes == 0 ? 0 : sum / classes;
    }

    /// <summary>
    /// Top-k accuracy over a prediction [.., c] of c ≥ 2 class scores: a row is correct when fewer than k classes
    /// score strictly more than its true class (so classes tied at the boundary count as in the top k, as
    /// TensorFlow's <c>in_top_k</c>). Targets: class indices or a distribution (its arg-max), as for
    /// <see cref="Accuracy"/>.
    /// </summary>
    public static Node TopK(GraphBuilder b, Node prediction, Node target, int k, SourceSpan span)
    {
        var e = new Emit(b, span);
        var p = prediction.Shape;
        var truth = Losses.IsClassIndices(prediction, target, $"top{k}")
            ? b.OneHot(target, p[-1].Size, span)
            : b.OneHot(b.Add(OpKind.ArgMax, [target], new OpAttrs { Axes = [p.Rank - 1] }, span), p[-1].Size, span);
        var score = e.SumLast(e.Mul(prediction, truth));
        var column = b.Reshape(score, new Shape([.. p.Dims[..^1], Dim.Of(1)]), span);
        var notAbove = e.SumLast(b.Binary(OpKind.GreaterEqual, column, prediction, span)); // classes ≤ the truth
        var above = e.Sub(e.C(p[-1].Size), notAbove);
        return e.MeanAll(b.Binary(OpKind.GreaterEqual, e.C(k - 1), above, span));
    }

    /// <summary>
    /// r² statistics per output column as a vector [3k]: the target's mean, its population variance and the mean
    /// squared error, each over the batch's rows (a prediction [n] or [n, 1] is one column). <see cref="R2Total"/>
    /// combines them over an epoch.
    /// </summary>
    public static Node R2Statistics(GraphBuilder b, Node prediction, Node target, SourceSpan span)
    {
        var e = new Emit(b, span);
        var t = Losses.SameShape(b, prediction, target, "r2", span);
        var mean = ColumnMeans(b, t, span);
        var centred = t.Shape.Rank <= 1
            ? e.Sub(t, b.Reshape(mean, Shape.Scalar, span))
            : e.Sub(t, mean);
        return b.Concat([mean, ColumnMeans(b, e.Square(centred), span),
            ColumnMeans(b, e.Square(e.Sub(prediction, t)), span)], 0, span);
    }

    /// <summary>r² from the sums of squared errors and of squares about the mean, per column: the mean of
    /// 1 − SS_res / SS_tot; a constant column scores 1 if predicted exactly, else 0.</summary>
    public static double R2(IReadOnlyList<double> residual, IReadOnlyList<double> total)
    {
        if (residual.Count == 0) return double.NaN;
        double sum = 0;
        for (int c = 0; c < residual.Count; c++)
            sum += total[c] > 0 ? 1 - residual[c] / total[c] : residual[c] == 0 ? 1 : 0;
        return sum / residual.Count;
    }
}
