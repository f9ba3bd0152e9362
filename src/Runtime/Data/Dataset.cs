using Nn.Runtime.Util;

namespace Nn.Runtime.Data;

/// <summary>
/// Features and (optionally) targets with the same number of rows. For classification the targets are the class
/// indices as floats, shape [N], and <see cref="ClassNames"/> names the classes (index i is class i).
/// For regression or reconstruction the targets are any [N, ...] tensor and <see cref="ClassNames"/> is null.
/// </summary>
internal sealed class Dataset
{
    /// <summary>The inputs, [N, ...].</summary>
    public HostTensor Features { get; }

    /// <summary>The targets, [N, ...], or null when the data has none (e.g. an autoencoder's images).</summary>
    public HostTensor? Targets { get; }

    /// <summary>The class names in index order when the targets are class labels; otherwise null.</summary>
    public string[]? ClassNames { get; }

    /// <summary>A dataset; features and targets must have the same number of rows.</summary>
    /// <exception cref="ArgumentException">when the row counts differ</exception>
    public Dataset(HostTensor features, HostTensor? targets, string[]? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (targets is not null && targets.Rows != features.Rows)
            throw new ArgumentException($"features have {features.Rows} rows but targets have {targets.Rows}",
                nameof(targets));
        Features = features; Targets = targets; ClassNames = classNames;
    }

    /// <summary>The number of rows.</summary>
    public int Count => Features.Rows;

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
        int validation = (int)Math.Round(Count * validationFraction, MidpointRounding.AwayFromZero);
        int train = Count - validation;
        if (train == 0 && Count > 0)
            throw new DataException(DataErrorCodes.BadRequest, "",
                $"validation = {validationFraction.ToString(System.Globalization.CultureInfo.InvariantCulture)} "
                + $"of {Count} rows leaves no rows to train on");
        return (Rows(0, train), Rows(train, validation));
    }

    /// <summary>Rows <paramref name="start"/> .. start+count-1, copied.</summary>
    public Dataset Rows(int start, int count) =>
        new(Features.SliceRows(start, count), Targets?.SliceRows(start, count), ClassNames);

    /// <summary>The rows in the order <paramref name="order"/> lists them, copied.</summary>
    public Dataset Gather(ReadOnlySpan<int> order) =>
        new(Features.GatherRows(order), Targets?.GatherRows(order), ClassNames);

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
