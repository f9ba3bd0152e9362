using System.Globalization;
using Nn.Runtime.IR;

namespace Nn.Runtime.Ops;

/// <summary>What a metric measures, for the check that it fits the loss's task (NN0433).</summary>
internal enum MetricTask
{
    /// <summary>Classes: a prediction with a class axis (accuracy, topK, precision, recall, f1).</summary>
    Classification,
    /// <summary>Values (mae, mse, rmse, r2).</summary>
    Regression,
    /// <summary>Anything (a function of the program).</summary>
    Any,
}

/// <summary>
/// A metric reported in training and evaluation, by its language name. A metric is computed in two parts so that it
/// is exact over a whole epoch and not an average of per-batch values (precision, recall, f1, rmse and r2 are not
/// means of per-row quantities): <see cref="Build"/> makes a graph node of <em>statistics</em> of the batch, each a
/// mean over the batch's rows (a scalar or a vector of fixed length), and <see cref="NewTotal"/> accumulates them over
/// an epoch's batches and turns them into the value. By default statistics are averaged over the epoch weighted by
/// each batch's rows and <see cref="Finish"/> makes the value of those averages.
/// </summary>
internal abstract record Metric(string Name)
{
    /// <summary>The statistics node of a batch (a scalar or a vector of fixed length, means over the rows). A target
    /// that does not fit is NN0210.</summary>
    public abstract Node Build(GraphBuilder b, Node prediction, Node target, SourceSpan span);

    /// <summary>The value from statistics averaged over rows.</summary>
    public virtual double Finish(ReadOnlySpan<double> means) => means[0];

    /// <summary>True when larger values are better (what early stopping and <c>reduceOnPlateau</c> look for).</summary>
    public virtual bool Maximize => false;

    /// <summary>The task the metric measures.</summary>
    public virtual MetricTask Task => MetricTask.Any;

    /// <summary>An empty accumulator of this metric's statistics over the batches of an epoch.</summary>
    public virtual MetricTotal NewTotal() => new MeanTotal(this);

    /// <summary>The language name.</summary>
    public override string ToString() => Name;

    /// <summary>The fraction of correct predictions (<see cref="Metrics.Accuracy"/>).</summary>
    public static readonly Metric Accuracy = new Builtin("accuracy", Metrics.Accuracy, MetricTask.Classification, true);
    /// <summary>Macro-averaged precision (<see cref="Metrics.Confusion"/>).</summary>
    public static readonly Metric Precision = new ConfusionMetric("precision");
    /// <summary>Macro-averaged recall.</summary>
    public static readonly Metric Recall = new ConfusionMetric("recall");
    /// <summary>Macro-averaged F1 score.</summary>
    public static readonly Metric F1 = new ConfusionMetric("f1");
    /// <summary>Mean absolute error.</summary>
    public static readonly Metric Mae = new Builtin("mae", Losses.Mae, MetricTask.Regression, false);
    /// <summary>Mean squared error.</summary>
    public static readonly Metric Mse = new Builtin("mse", Losses.Mse, MetricTask.Regression, false);
    /// <summary>Root mean squared error: the root of the epoch's mean square, not a mean of batch roots.</summary>
    public static readonly Metric Rmse = new RootMetric();
    /// <summary>The coefficient of determination (<see cref="Metrics.R2Statistics"/>).</summary>
    public static readonly Metric R2 = new R2Metric();

    /// <summary>The built-in metrics named by a word (<c>topK k</c> takes a number: <see cref="TopK"/>).</summary>
    public static readonly IReadOnlyList<Metric> Builtins = [Accuracy, Precision, Recall, F1, Mae, Mse, Rmse, R2];

    /// <summary>The names of <see cref="Builtins"/>.</summary>
    public static readonly IReadOnlyList<string> Names = Builtins.Select(m => m.Name).ToArray();

    /// <summary>The built-in metric of this name, or null.</summary>
    public static Metric? Find(string name) => Builtins.FirstOrDefault(m => m.Name == name);

    /// <summary>Top-k accuracy: the fraction of rows whose true class is among the k highest scores
    /// (<see cref="Metrics.TopK"/>); named <c>top{k}</c>.</summary>
    public static Metric TopK(int k) => k >= 1
        ? new Builtin("top" + k.ToString(CultureInfo.InvariantCulture),
            (b, p, t, s) => Metrics.TopK(b, p, t, k, s), MetricTask.Classification, true)
        : throw new ArgumentException($"`topK` needs k ≥ 1, got {k}");

    /// <summary>A metric written in the language: <paramref name="make"/> builds its value from the prediction and
    /// the target (a scalar, or one value per row); the value is averaged over the epoch's rows (Keras'
    /// <c>MeanMetricWrapper</c>). Smaller is better.</summary>
    public static Metric Function(string name, Func<GraphBuilder, Node, Node, SourceSpan, Node> make) =>
        new FunctionMetric(name, make);

    private sealed record Builtin(string Name, Func<GraphBuilder, Node, Node, SourceSpan, Node> Make,
        MetricTask Kind, bool Larger) : Metric(Name)
    {
        public override Node Build(GraphBuilder b, Node prediction, Node target, SourceSpan span) =>
            Make(b, prediction, target, span);
        public override bool Maximize => Larger;
        public override MetricTask Task => Kind;
    }

    private sealed record FunctionMetric(string Name, Func<GraphBuilder, Node, Node, SourceSpan, Node> Make)
        : Metric(Name)
    {
        public override Node Build(GraphBuilder b, Node prediction, Node target, SourceSpan span)
        {
            var v = Make(b, prediction, target, span);
            return v.Shape.Rank == 0 ? v : b.Reduce(OpKind.Mean, v, [], false, span);
        }
    }

    private sealed record RootMetric() : Metric("rmse")
    {
        public override Node Build(GraphBuilder b, Node prediction, Node target, SourceSpan span) =>
            Losses.Mse(b, prediction, target, span);
        public override double Finish(ReadOnlySpan<double> means) => Math.Sqrt(means[0]);
        public override MetricTask Task => MetricTask.Regression;
    }

    private sealed record ConfusionMetric(string Name) : Metric(Name)
    {
        public override Node Build(GraphBuilder b, Node prediction, Node target, SourceSpan span) =>
            Metrics.Confusion(b, prediction, target, Name, span);
        public override double Finish(ReadOnlySpan<double> means) => Metrics.MacroAverage(Name, means);
        public override bool Maximize => true;
        public override MetricTask Task => MetricTask.Classification;
    }

    private sealed record R2Metric() : Metric("r2")
    {
        public override Node Build(GraphBuilder b, Node prediction, Node target, SourceSpan span) =>
            Metrics.R2Statistics(b, prediction, target, span);
        public override double Finish(ReadOnlySpan<double> means) => throw new InvalidOperationException(
            "r2 is finished by its own total, which combines the batches' variances");
        public override bool Maximize => true;
        public override MetricTask Task => MetricTask.Regression;
        public override MetricTotal NewTotal() => new R2Total();
    }
}

/// <summary>A metric's statistics accumulated over the batches of an epoch (or of an evaluation).</summary>
internal abstract class MetricTotal
{
    /// <summary>Adds a batch's statistics, means over its <paramref name="rows"/> rows.</summary>
    public abstract void Add(ReadOnlySpan<double> statistics, int rows);
    /// <summary>The metric over every row added.</summary>
    public abstract double Value { get; }
}

/// <summary>Statistics averaged over rows (each batch weighted by its rows), then finished by the metric.</summary>
internal sealed class MeanTotal(Metric metric) : MetricTotal
{
    private double[] _sums = [];
    private double _rows;

    /// <inheritdoc />
    public override void Add(ReadOnlySpan<double> statistics, int rows)
    {
        if (_sums.Length == 0) _sums = new double[statistics.Length];
        for (int i = 0; i < _sums.Length; i++) _sums[i] += statistics[i] * rows;
        _rows += rows;
    }

    /// <inheritdoc />
    public override double Value => metric.Finish(_sums.Select(s => s / _rows).ToArray());
}

/// <summary>
/// r² = mean over output columns of 1 − SS_res / SS_tot (scikit-learn's <c>r2_score</c> with
/// <c>multioutput='uniform_average'</c>, Keras' <c>R2Score</c>). Each batch gives per column the mean and the
/// (population) variance of the target and the mean squared error (<see cref="Metrics.R2Statistics"/>); the
/// batches' sums of squares about their own means are combined in double precision with Chan et al.'s pairwise
/// update, so SS_tot is the epoch's sum of squares about the epoch's mean without cancelling large sums. A column
/// whose target is constant scores 1 when predicted exactly and 0 otherwise (scikit-learn's
/// <c>force_finite</c>).
/// </summary>
internal sealed class R2Total : MetricTotal
{
    private double[] _mean = [], _m2 = [], _sse = [];
    private double _rows;

    /// <inheritdoc />
    public override void Add(ReadOnlySpan<double> statistics, int rows)
    {
        int k = statistics.Length / 3;
        if (_mean.Length == 0) (_mean, _m2, _sse) = (new double[k], new double[k], new double[k]);
        double n = _rows + rows;
        for (int c = 0; c < k; c++)
        {
            double mean = statistics[c], variance = statistics[k + c], mse = statistics[2 * k + c];
            double delta = mean - _mean[c];
            _m2[c] += variance * rows + delta * delta * _rows * rows / n;
            _mean[c] += delta * rows / n;
            _sse[c] += mse * rows;
        }
        _rows = n;
    }

    /// <inheritdoc />
    public override double Value => Metrics.R2(_sse, _m2);
}
