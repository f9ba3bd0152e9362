namespace Nn.Runtime.Training;

/// <summary>
/// A learning-rate schedule: its language name, the settings its record takes and its rate rule, side by side (as
/// <see cref="OptimizerKind"/>). The compiler turns a <c>schedule</c> field's name into one of these once
/// (<see cref="Find"/>); formulas and defaults are listed on <see cref="ScheduleSpec"/>.
/// </summary>
internal sealed record ScheduleKind
{
    private readonly Func<ScheduleSpec, RateAt, double> _rate;

    private ScheduleKind(string name, IReadOnlyList<string> settings, Func<ScheduleSpec, RateAt, double> rate,
        bool watchesEpochs = false)
    {
        Name = name;
        Settings = settings;
        _rate = rate;
        WatchesEpochs = watchesEpochs;
    }

    /// <summary>The language name.</summary>
    public string Name { get; }
    /// <summary>The fields of its settings record in the language (<c>stepDecay { every; factor }</c>).</summary>
    public IReadOnlyList<string> Settings { get; }
    /// <summary>True when it learns from the monitored value at each epoch's end (reduceOnPlateau).</summary>
    public bool WatchesEpochs { get; }

    /// <summary>The rate at one step (see <see cref="RateAt"/>).</summary>
    internal double Rate(ScheduleSpec spec, in RateAt at) => _rate(spec, at);

    /// <summary>The language name.</summary>
    public override string ToString() => Name;

    /// <summary>The base rate throughout (no <c>schedule</c> field).</summary>
    public static readonly ScheduleKind Constant = new("constant", [], (_, at) => at.Base);

    /// <summary>lr · factor^⌊epoch / every⌋.</summary>
    public static readonly ScheduleKind StepDecay = new("stepDecay", ["every", "factor"],
        (s, at) => at.Base * Math.Pow(s.Factor ?? 0.5, at.Epoch / s.Every));

    /// <summary>lr · rate^epoch.</summary>
    public static readonly ScheduleKind Exponential = new("exponential", ["rate"],
        (s, at) => at.Base * Math.Pow(s.Rate, at.Epoch));

    /// <summary>Linear warm-up, then a half cosine per step down to <c>min</c>.</summary>
    public static readonly ScheduleKind Cosine = new("cosine", ["warmup", "min"], (s, at) =>
    {
        double warm = (s.Warmup ?? 0) * at.StepsPerEpoch;
        if (at.Step < warm) return at.Base * (at.Step + 1) / warm;
        double total = (double)at.Epochs * at.StepsPerEpoch - warm;
        double progress = total <= 0 ? 1 : Math.Min(1, (at.Step - warm) / total);
        return s.Min + 0.5 * (at.Base - s.Min) * (1 + Math.Cos(Math.PI * progress));
    });

    /// <summary>Linear warm-up, then lr.</summary>
    public static readonly ScheduleKind Warmup = new("warmup", ["epochs"], (s, at) =>
    {
        double warm = (s.Warmup ?? 1) * at.StepsPerEpoch;
        return at.Step < warm ? at.Base * (at.Step + 1) / warm : at.Base;
    });

    /// <summary>lr times the scale learnt from plateaus, never below <c>min</c>.</summary>
    public static readonly ScheduleKind ReduceOnPlateau = new("reduceOnPlateau",
        ["factor", "patience", "monitor", "min"],
        (s, at) => at.Scale < 1 ? Math.Max(at.Base * at.Scale, s.Min) : at.Base, watchesEpochs: true);

    /// <summary>Every schedule.</summary>
    public static readonly IReadOnlyList<ScheduleKind> Builtins =
        [Constant, StepDecay, Exponential, Cosine, Warmup, ReduceOnPlateau];

    /// <summary>The names a program's <c>schedule</c> field takes (constant is the absence of the field).</summary>
    public static readonly IReadOnlyList<string> Names =
        Builtins.Where(k => k != Constant).Select(k => k.Name).ToArray();

    /// <summary>The schedule named <paramref name="name"/>, or null.</summary>
    public static ScheduleKind? Find(string name) => Builtins.FirstOrDefault(k => k.Name == name);
}

/// <summary>Where a rate is asked for: the base rate, the global step, its epoch (from 0), the run's epochs, the
/// steps per epoch, and the scale a plateau rule has learnt (1 otherwise).</summary>
internal readonly record struct RateAt(double Base, long Step, int Epoch, int Epochs, int StepsPerEpoch, double Scale);
