using Nn.Runtime.IR;

namespace Nn.Runtime.Ops;

/// <summary>What a loss compares the network's prediction with.</summary>
internal enum LossTarget
{
    /// <summary>Values of the prediction's shape (or [n] for a prediction [n, 1]): regression.</summary>
    Values,
    /// <summary>0/1 labels of the prediction's shape: binary classification.</summary>
    BinaryLabels,
    /// <summary>Class indices or a distribution over the prediction's last axis of two or more classes.</summary>
    Classes,
    /// <summary>The target as the data gives it, unchecked (a loss written in the language): values of the
    /// prediction's shape, or class indices [n] (or [n, 1] for a prediction [n, 1]) as floats.</summary>
    AsGiven,
}

/// <summary>A loss written in the language: the node it computes from the prediction and the target (a scalar, or
/// one value per row), built into <paramref name="b"/>; nodes get <paramref name="span"/> where the function has no
/// span of its own.</summary>
internal delegate Node WrittenLoss(GraphBuilder b, Node prediction, Node target, SourceSpan span);

/// <summary>What a loss reads the network's output as (how <c>nn predict</c> turns it into class
/// probabilities).</summary>
internal enum LossPrediction
{
    /// <summary>The values themselves.</summary>
    Values,
    /// <summary>Probabilities (a sigmoid's or a softmax's output).</summary>
    Probabilities,
    /// <summary>Scores whose softmax gives the probabilities.</summary>
    Logits,
}

/// <summary>
/// A loss the training step minimises. Each built-in (<see cref="Builtins"/>) carries its language name, the
/// targets it takes, what it reads the prediction as, and its graph builder (in <see cref="Losses"/>); the compiler
/// turns a <c>loss</c> field's name into one of these once (<see cref="Find"/>) and passes it on. A loss written in
/// the language (<see cref="Written"/>) is built from the program's function, which the compiler applies to the
/// prediction and target nodes; it is differentiated and fused like the rest of the step.
/// </summary>
internal abstract record LossKind(string Name, LossTarget Target, LossPrediction Prediction)
{
    /// <summary>The scalar loss node (the mean over the batch) of <paramref name="prediction"/> against
    /// <paramref name="target"/>; <paramref name="delta"/> is Huber's threshold (the other losses ignore it).
    /// A target that does not fit throws <see cref="ShapeException"/> NN0210.</summary>
    public abstract Node Build(GraphBuilder b, Node prediction, Node target, SourceSpan span, double delta = 1.0);

    /// <summary>The language name.</summary>
    public override string ToString() => Name;

    /// <summary>Mean squared error.</summary>
    public static readonly LossKind Mse =
        new Builtin("mse", LossTarget.Values, LossPrediction.Values, (b, p, t, s, _) => Losses.Mse(b, p, t, s));
    /// <summary>Mean absolute error.</summary>
    public static readonly LossKind Mae =
        new Builtin("mae", LossTarget.Values, LossPrediction.Values, (b, p, t, s, _) => Losses.Mae(b, p, t, s));
    /// <summary>Huber loss with threshold δ.</summary>
    public static readonly LossKind Huber =
        new Builtin("huber", LossTarget.Values, LossPrediction.Values, Losses.Huber);
    /// <summary>Binary cross-entropy of probabilities.</summary>
    public static readonly LossKind BinaryCrossEntropy = new Builtin("binaryCrossEntropy", LossTarget.BinaryLabels,
        LossPrediction.Probabilities, (b, p, t, s, _) => Losses.BinaryCrossEntropy(b, p, t, s));
    /// <summary>Categorical cross-entropy of logits.</summary>
    public static readonly LossKind SoftmaxCrossEntropy = new Builtin("softmaxCrossEntropy", LossTarget.Classes,
        LossPrediction.Logits, (b, p, t, s, _) => Losses.SoftmaxCrossEntropy(b, p, t, s));
    /// <summary>Categorical cross-entropy of probabilities.</summary>
    public static readonly LossKind CrossEntropy = new Builtin("crossEntropy", LossTarget.Classes,
        LossPrediction.Probabilities, (b, p, t, s, _) => Losses.CrossEntropy(b, p, t, s));

    /// <summary>The built-in losses, in the order the docs list them.</summary>
    public static readonly IReadOnlyList<LossKind> Builtins =
        [Mse, Mae, Huber, BinaryCrossEntropy, SoftmaxCrossEntropy, CrossEntropy];

    /// <summary>The names of <see cref="Builtins"/>.</summary>
    public static readonly IReadOnlyList<string> Names = Builtins.Select(l => l.Name).ToArray();

    /// <summary>The built-in loss of this name, or null.</summary>
    public static LossKind? Find(string name) => Builtins.FirstOrDefault(l => l.Name == name);

    /// <summary>A loss written in the language, named <paramref name="name"/> (its <c>let</c> name), computed by
    /// <paramref name="compute"/>: a scalar is the loss, one value per row ([n] or [n, 1]) is averaged over the
    /// rows; any other result throws <see cref="ShapeException"/> NN0431.</summary>
    public static LossKind Written(string name, WrittenLoss compute) => new Function(name, compute);

    /// <summary>The scalar loss of a written loss's result <paramref name="value"/>: itself when it holds one
    /// value (a scalar, or every axis of size 1), its mean when it holds one value per row of
    /// <paramref name="prediction"/> ([n] or [n, 1]); otherwise NN0431.</summary>
    public static Node PerBatch(GraphBuilder b, Node prediction, Node value, string name, SourceSpan span)
    {
        var v = value.Shape; var p = prediction.Shape;
        bool single = v.IsOne;
        bool perRow = p.Rank > 0 && v.Rank is 1 or 2 && v[0].Equals(p[0]) && (v.Rank == 1 || v[1].IsOne);
        if (!single && !perRow)
            throw new ShapeException("NN0431",
                $"the loss `{name}` must compute a scalar or one value per row ({RowShapes(p)}), but it computes {v}"
                + $" for a prediction {p}");
        return v.Rank == 0 ? value : new Emit(b, span).MeanAll(value);
    }

    private static string RowShapes(Shape p) =>
        p.Rank == 0 ? "a scalar" : $"{new Shape(p[0])} or {new Shape(p[0], Dim.Of(1))}";

    private sealed record Function(string Name, WrittenLoss Compute)
        : LossKind(Name, LossTarget.AsGiven, LossPrediction.Values)
    {
        public override Node Build(GraphBuilder b, Node prediction, Node target, SourceSpan span, double delta = 1.0) =>
            PerBatch(b, prediction, Compute(b, prediction, target, span), Name, span);
    }

    private delegate Node Builder(GraphBuilder b, Node prediction, Node target, SourceSpan span, double delta);

    private sealed record Builtin(string Name, LossTarget Target, LossPrediction Prediction, Builder Make)
        : LossKind(Name, Target, Prediction)
    {
        public override Node Build(GraphBuilder b, Node prediction, Node target, SourceSpan span, double delta = 1.0) =>
            Make(b, prediction, target, span, delta);
    }
}
