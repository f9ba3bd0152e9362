using Nn.Runtime.IR;

namespace Nn.Runtime.Ops;

/// <summary>
/// A metric reported in training and evaluation, by its language name and graph builder. The built-ins are
/// <see cref="Builtins"/>; metrics written in the language (issue #19) will be another subclass.
/// </summary>
internal abstract record Metric(string Name)
{
    /// <summary>The scalar metric node (the mean over the batch). A target that does not fit is NN0210.</summary>
    public abstract Node Build(GraphBuilder b, Node prediction, Node target, SourceSpan span);

    /// <summary>The language name.</summary>
    public override string ToString() => Name;

    /// <summary>The fraction of correct predictions (<see cref="Metrics.Accuracy"/>).</summary>
    public static readonly Metric Accuracy = new Builtin("accuracy", Metrics.Accuracy);
    /// <summary>Mean absolute error.</summary>
    public static readonly Metric Mae = new Builtin("mae", Losses.Mae);
    /// <summary>Mean squared error.</summary>
    public static readonly Metric Mse = new Builtin("mse", Losses.Mse);

    /// <summary>The built-in metrics.</summary>
    public static readonly IReadOnlyList<Metric> Builtins = [Accuracy, Mae, Mse];

    /// <summary>The built-in metric of this name, or null.</summary>
    public static Metric? Find(string name) => Builtins.FirstOrDefault(m => m.Name == name);

    private sealed record Builtin(string Name, Func<GraphBuilder, Node, Node, SourceSpan, Node> Make) : Metric(Name)
    {
        public override Node Build(GraphBuilder b, Node prediction, Node target, SourceSpan span) =>
            Make(b, prediction, target, span);
    }
}

/// <summary>
/// Metrics as graph nodes: each returns a scalar, the mean over the batch. Metrics have no gradient and are
/// never added to the loss; the trainer averages them over an epoch weighted by batch size.
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
}
