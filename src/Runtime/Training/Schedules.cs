namespace Nn.Runtime.Training;

/// <summary>
/// The <c>schedule</c> field: how the learning rate moves during training. It is computed on the host before each
/// step and fed to the step graph's <c>lr</c> input, so the step graph never changes. Epochs count from 0.
/// <list type="table">
/// <item><term>constant</term><description>lr</description></item>
/// <item><term>stepDecay { every; factor }</term>
///   <description>lr · factor^⌊epoch / every⌋ (defaults every 10, factor 0.5)</description></item>
/// <item><term>exponential { rate }</term><description>lr · rate^epoch (default rate 0.95)</description></item>
/// <item><term>cosine { warmup; min }</term><description>linear warm-up over <c>warmup</c> epochs (per step, from
///   lr/warmupSteps to lr), then a half cosine per step from lr down to <c>min</c> at the end of the last epoch
///   (defaults 0 and 0)</description></item>
/// <item><term>warmup { epochs }</term>
///   <description>the same linear warm-up (default 1 epoch), then lr</description></item>
/// <item><term>reduceOnPlateau { factor; patience; monitor; min }</term><description>multiplies the rate by
///   <c>factor</c> when the monitored value (<see cref="ScheduleSpec.Monitor"/>, the values early stopping can watch:
///   losses must go down, accuracies up) has not improved by more than 1e-4 for <c>patience</c> epochs, then waits
///   another <c>patience</c> epochs; never below <c>min</c>, as Keras' <c>min_lr</c> (a base rate already at or below
///   <c>min</c> is left alone) (Keras' defaults: factor 0.1, patience 10, min 0)</description></item>
/// </list>
/// </summary>
internal sealed record ScheduleSpec
{
    /// <summary>The constant schedule.</summary>
    public static readonly ScheduleSpec Constant = new();

    /// <summary>Which schedule (<see cref="ScheduleKind.Builtins"/>).</summary>
    public ScheduleKind Kind { get; init; } = ScheduleKind.Constant;
    /// <summary>stepDecay: epochs between decays.</summary>
    public int Every { get; init; } = 10;
    /// <summary>stepDecay and reduceOnPlateau: the multiplier; null: 0.5 for stepDecay, 0.1 for
    /// reduceOnPlateau.</summary>
    public double? Factor { get; init; }
    /// <summary>exponential: the per-epoch multiplier.</summary>
    public double Rate { get; init; } = 0.95;
    /// <summary>cosine and warmup: warm-up epochs; null: 0 for cosine, 1 for warmup.</summary>
    public double? Warmup { get; init; }
    /// <summary>cosine: the final rate; reduceOnPlateau: the lowest rate it reduces to (Keras'
    /// <c>min_lr</c>).</summary>
    public double Min { get; init; }
    /// <summary>reduceOnPlateau: epochs without improvement before reducing.</summary>
    public int Patience { get; init; } = 10;
    /// <summary>reduceOnPlateau: what to watch, one of <see cref="Monitor.Builtins"/> (validation values fall back to
    /// training values without validation rows; see <see cref="Training.Monitor.ValueIn"/>).</summary>
    public Monitor Monitor { get; init; } = Monitor.ValidationLoss;
}

/// <summary>A running schedule: the rate for each step, and (for reduceOnPlateau) the state it learns from epoch
/// ends. Create one per training run with <see cref="Create"/>.</summary>
internal sealed class Schedule
{
    private readonly ScheduleSpec _spec;
    private readonly double _base;
    private readonly int _epochs, _stepsPerEpoch;
    private double _scale = 1, _best = double.NaN;
    private int _wait;

    private Schedule(ScheduleSpec spec, double baseLr, int epochs, int stepsPerEpoch)
    {
        _spec = spec; _base = baseLr; _epochs = epochs; _stepsPerEpoch = Math.Max(1, stepsPerEpoch);
    }

    /// <summary>A schedule for a run of <paramref name="epochs"/> epochs of <paramref name="stepsPerEpoch"/>
    /// steps.</summary>
    /// <exception cref="ArgumentException">for an unknown kind or an out-of-range field, naming it</exception>
    public static Schedule Create(ScheduleSpec spec, double baseLr, int epochs, int stepsPerEpoch)
    {
        if (spec.Kind is null) throw new ArgumentException("no schedule `Kind`");
        if (spec.Every <= 0)
            throw new ArgumentException($"`every` must be a positive number of epochs, got {spec.Every}");
        if (spec.Factor is { } f && !(f > 0 && f <= 1))
            throw new ArgumentException($"`factor` must be in (0, 1], got {f}");
        if (!(spec.Rate > 0)) throw new ArgumentException($"`rate` must be positive, got {spec.Rate}");
        if (spec.Warmup is { } w && !(w >= 0)) throw new ArgumentException($"`warmup` must not be negative, got {w}");
        if (!(spec.Min >= 0) || double.IsInfinity(spec.Min))
            throw new ArgumentException($"`min` must be a rate of at least 0, got {spec.Min}");
        if (spec.Patience < 0) throw new ArgumentException($"`patience` must not be negative, got {spec.Patience}");
        if (spec.Monitor is null) throw new ArgumentException("no `monitor`");
        return new Schedule(spec, baseLr, epochs, stepsPerEpoch);
    }

    /// <summary>The learning rate for batch <paramref name="batch"/> (from 0) of epoch <paramref name="epoch"/> (from
    /// 0).</summary>
    public double LearningRate(int epoch, int batch)
    {
        long step = (long)epoch * _stepsPerEpoch + batch;
        return _spec.Kind.Rate(_spec, new RateAt(_base, step, epoch, _epochs, _stepsPerEpoch, _scale));
    }

    /// <summary>Tells the schedule an epoch ended with this value of <see cref="ScheduleSpec.Monitor"/> (only
    /// reduceOnPlateau listens).</summary>
    public void EpochEnded(double monitored)
    {
        if (!_spec.Kind.WatchesEpochs) return;
        if (_spec.Monitor.Improves(monitored, _best, 1e-4)) { _best = monitored; _wait = 0; return; }
        if (++_wait >= _spec.Patience)
        {
            // as Keras: reduce only while above the floor; LearningRate clamps the last reduction to it
            if (_base * _scale > _spec.Min) _scale *= _spec.Factor ?? 0.1;
            _wait = 0;
        }
    }

    /// <summary>The learned state (reduceOnPlateau's scale, best value and wait count), for checkpoints.</summary>
    public double[] State => [_scale, _best, _wait];

    /// <summary>Restores <see cref="State"/>.</summary>
    public void Restore(double[] state) { _scale = state[0]; _best = state[1]; _wait = (int)state[2]; }
}
