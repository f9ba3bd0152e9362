using Nn.Runtime.Ops;

namespace Nn.Runtime.Training;

/// <summary>
/// A value that early stopping and <c>reduceOnPlateau</c> watch at the end of each epoch: the loss or a metric, on the
/// training rows or on the validation rows (which fall back to the training values when there are none), and
/// whether larger values are better. The built-ins are <see cref="Builtins"/>; any other metric is watched through
/// <see cref="Of"/> (<c>monitor = f1</c>, <c>monitor = validation mape</c>). The compiler turns a <c>monitor</c>
/// setting into one of these once.
/// </summary>
/// <param name="Name">the language name</param>
/// <param name="Validation">true for the validation rows' value</param>
/// <param name="Metric">the metric watched, or null for the loss</param>
internal sealed record Monitor(string Name, bool Validation, Metric? Metric)
{
    /// <summary>True when larger values are better (<see cref="Ops.Metric.Maximize"/>: accuracy, topK, precision,
    /// recall, f1, r2); the loss, errors and the program's functions must go down.</summary>
    public bool Maximize => Metric?.Maximize ?? false;

    /// <summary>The training loss.</summary>
    public static readonly Monitor Loss = new("loss", false, null);
    /// <summary>The training accuracy.</summary>
    public static readonly Monitor Accuracy = new("accuracy", false, Metric.Accuracy);
    /// <summary>The validation loss (the default).</summary>
    public static readonly Monitor ValidationLoss = new("validationLoss", true, null);
    /// <summary>The validation accuracy.</summary>
    public static readonly Monitor ValidationAccuracy = new("validationAccuracy", true, Metric.Accuracy);

    /// <summary>The values that can be watched.</summary>
    public static readonly IReadOnlyList<Monitor> Builtins = [Loss, Accuracy, ValidationLoss, ValidationAccuracy];

    /// <summary>The names of <see cref="Builtins"/>.</summary>
    public static readonly IReadOnlyList<string> Names = Builtins.Select(m => m.Name).ToArray();

    /// <summary>The monitor of this name, or null.</summary>
    public static Monitor? Find(string name) => Builtins.FirstOrDefault(m => m.Name == name);

    /// <summary>The monitor of a metric on the training rows (named as the metric) or on the validation rows (named
    /// <c>validation name</c>); accuracy's are <see cref="Accuracy"/> and <see cref="ValidationAccuracy"/>.</summary>
    public static Monitor Of(Metric metric, bool validation) => (metric.Name, validation) switch
    {
        ("accuracy", false) => Accuracy with { Metric = metric },
        ("accuracy", true) => ValidationAccuracy with { Metric = metric },
        _ => new(validation ? "validation " + metric.Name : metric.Name, validation, metric),
    };

    /// <summary>This monitor watching <paramref name="metric"/> (the instance of the <c>metrics</c> list).</summary>
    public Monitor WithMetric(Metric metric) => this with { Metric = metric };

    /// <summary>The watched value of an epoch; a validation value falls back to the training value without
    /// validation rows.</summary>
    public double ValueIn(EpochReport r) => (Metric, Validation) switch
    {
        (null, false) => r.TrainLoss,
        (null, true) => r.ValidationLoss ?? r.TrainLoss,
        ({ } m, false) => r.Metrics[m.Name],
        ({ } m, true) => r.ValidationMetrics?[m.Name] ?? r.Metrics[m.Name],
    };

    /// <summary>Whether <paramref name="value"/> improves on <paramref name="best"/> (NaN: no value yet) by more
    /// than <paramref name="minDelta"/>. A non-finite value never improves.</summary>
    public bool Improves(double value, double best, double minDelta) =>
        double.IsFinite(value)
        && (double.IsNaN(best) || (Maximize ? value > best + minDelta : value < best - minDelta));

    /// <summary>The language name.</summary>
    public override string ToString() => Name;
}
