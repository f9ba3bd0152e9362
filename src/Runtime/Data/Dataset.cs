using Nn.Runtime.Util;

namespace Nn.Runtime.Data;

/// <summary>
/// Features (one tensor per input of the network, in the order the network declares its inputs) and (optionally)
/// targets, all with the same number of rows; rows are split, gathered and shuffled together. For classification the
/// targets are the class indices as floats, shape [N], and <see cref="ClassNames"/> names the classes (index i is
/// class i). For regression or reconstruction the targets are any [N, ...] tensor and <see cref="ClassNames"/> is null.
/// </summary>
internal sealed class Dataset
{
    /// <summary>The features of the first input, [N, ...] (the only one of a network with one input).</summary>
    public HostTensor Features => Inputs[0];

    /// <summary>The features of each input of the network, in its declaration order, each [N, ...].</summary>
    public IReadOnlyList<HostTensor> Inputs { get; }

    /// <summary>The targets, [N, ...], or null when the data has none (e.g. an autoencoder's images).</summary>
    public HostTensor? Targets { get; }

    /// <summary>The class names in index order when the targets are class labels; otherwise null.</summary>
    public string[]? ClassNames { get; }

    /// <summary>A dataset; features and targets must have the same number of rows.</summary>
    /// <exception cref="ArgumentException">when the row counts differ</exception>
    public Dataset(HostTensor features, HostTensor? targets, string[]? classNames = null)
        : this([features ?? throw new ArgumentNullException(nameof(features))], targets, classNames) { }

    /// <summary>A dataset with several inputs; every input and the targets must have the same number of rows.</summary>
    /// <exception cref="ArgumentException">when there is no input or the row counts differ</exception>
    public Dataset(IReadOnlyList<HostTensor> inputs, HostTensor? targets, string[]? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0) throw new ArgumentException("a dataset needs at least one input", nameof(inputs));
        foreach (var x in inputs)
            if (x.Rows != inputs[0].Rows)
                throw new ArgumentException($"the inputs have {inputs[0].Rows} and {x.Rows} rows", nameof(inputs));
        if (targets is not null && targets.Rows != inputs[0].Rows)
            throw new ArgumentException($"features have {inputs[0].Rows} rows but targets have {targets.Rows}",
                nameof(targets));
        Inputs = inputs.ToArray(); Targets = targets; ClassNames = classNames;
    }

    /// <summary>The same rows with other features (one tensor per input), targets and class names kept.</summary>
    public Dataset WithInputs(IReadOnlyList<HostTensor> inputs) => new(inputs, Targets, ClassNames);

    /// <summary>The number of rows.</summary>
    public int Count => Inputs[0].Rows;

    /// <summary>The number of classes, or null when the targets are not class labels.</summary>
    public int? ClassCount => ClassNames?.Length;

    /// <summary>
    /// Splits off the LAST <paramref name="validationFraction"/> of the rows as validation data, in order, as Keras'
    /// <c>validation_split</c> does (the data is expected to be shuffled already). The validation part has
    /// round(N × fraction) rows.
    /// </summary>
    /// <exception cref="DataException">NN0541 when the fraction is outside [0, 1) or leaves no training
    /// rows</exception>
    public (Dataset Train, Dataset Validation) Split(double validationFraction)
    {
        if (!(validationFraction >= 0.0 && validationFraction < 1.0))
            throw new DataException(DataErrorCodes.BadRequest, "",
                $"validation must be a fraction in [0, 1), not "
                + $"{validationFraction.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        int validation = HeldOut(Count, validationFraction);
        int train = Count - validation;
        if (train == 0 && Count > 0)
            throw new DataException(DataErrorCodes.BadRequest, "",
                $"validation = {validationFraction.ToString(System.Globalization.CultureInfo.InvariantCulture)} "
                + $"of {Count} rows leaves no rows to train on");
        return (Rows(0, train), Rows(train, validation));
    }

    /// <summary>How many of <paramref name="count"/> rows <see cref="Split"/> holds out for validation:
    /// round(count × fraction), halves away from zero.</summary>
    public static int HeldOut(int count, double validationFraction) =>
        (int)Math.Round(count * validationFraction, MidpointRounding.AwayFromZero);

    /// <summary>Rows <paramref name="start"/> .. start+count-1, copied.</summary>
    public Dataset Rows(int start, int count) =>
        new(Inputs.Select(x => x.SliceRows(start, count)).ToArray(), Targets?.SliceRows(start, count), ClassNames);

    /// <summary>The rows in the order <paramref name="order"/> lists them, copied.</summary>
    public Dataset Gather(ReadOnlySpan<int> order)
    {
        var inputs = new HostTensor[Inputs.Count];
        for (int i = 0; i < inputs.Length; i++) inputs[i] = Inputs[i].GatherRows(order);
        return new(inputs, Targets?.GatherRows(order), ClassNames);
    }

    /// <summary>The rows in a random order drawn from <paramref name="rng"/> (a Fisher–Yates permutation).</summary>
    public Dataset Shuffle(Rng rng) => Gather(Permutation(Count, rng));

    /// <summary>A random permutation of 0..n-1 drawn from <paramref name="rng"/>.</summary>
    public static int[] Permutation(int n, Rng rng)
    {
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        rng.Shuffle(order);
        return order;
    }
}
