using Nn.Runtime.Util;

namespace Nn.Runtime.Data;

/// <summary>
/// Walks a dataset in mini-batches, copying each batch's rows into buffers allocated once, so an epoch allocates
/// nothing. With an <see cref="Rng"/> every epoch visits the rows in a new random order; without one, in order.
/// Every row is visited exactly once per epoch; the last batch may be partial (<see cref="CurrentSize"/> says how
/// many rows of the buffers are valid; the rest keep stale values).
/// </summary>
/// <example><code>
/// var it = new BatchIterator(train, 64, new Rng(42));
/// for (int epoch = 0; epoch &lt; 10; epoch++) {
///     it.StartEpoch();
///     while (it.MoveNext()) Step(it.Features, it.Targets, it.CurrentSize);
/// }
/// </code></example>
public sealed class BatchIterator
{
    private readonly Dataset _data;
    private readonly Rng? _rng;
    private readonly int[] _order;
    private readonly int _featureSize, _targetSize;
    private int _next;
    private int _currentStart;

    /// <summary>An iterator over <paramref name="data"/> with batches of <paramref name="batchSize"/> rows.</summary>
    /// <param name="data">the dataset</param>
    /// <param name="batchSize">rows per batch (the last one may have fewer)</param>
    /// <param name="rng">shuffles each epoch when given; null keeps the dataset's order</param>
    /// <exception cref="DataException">NN0541 when the batch size is not positive</exception>
    public BatchIterator(Dataset data, int batchSize, Rng? rng = null)
    {
        if (batchSize <= 0)
            throw new DataException(DataErrorCodes.BadRequest, "",
                $"batch must be a positive number of rows, not {batchSize}");
        _data = data;
        _rng = rng;
        BatchSize = batchSize;
        _order = new int[data.Count];
        for (int i = 0; i < _order.Length; i++) _order[i] = i;
        _featureSize = data.Features.RowSize;
        Features = new float[batchSize * _featureSize];
        FeatureShape = (int[])data.Features.Shape.Clone();
        FeatureShape[0] = batchSize;
        if (data.Targets is { } t)
        {
            _targetSize = t.RowSize;
            Targets = new float[batchSize * _targetSize];
            TargetShape = (int[])t.Shape.Clone();
            TargetShape[0] = batchSize;
        }
        else
        {
            Targets = [];
            TargetShape = [];
        }
        _next = _order.Length; // nothing until StartEpoch
    }

    /// <summary>Rows per full batch.</summary>
    public int BatchSize { get; }

    /// <summary>Batches per epoch, counting a last partial batch.</summary>
    public int BatchesPerEpoch => (_order.Length + BatchSize - 1) / BatchSize;

    /// <summary>The feature buffer, [BatchSize, ...] row-major; the first
    /// <see cref="CurrentSize"/> rows are valid.</summary>
    public float[] Features { get; }

    /// <summary>The shape of a full feature batch.</summary>
    public int[] FeatureShape { get; }

    /// <summary>The target buffer, [BatchSize, ...]; empty when the dataset has no targets.</summary>
    public float[] Targets { get; }

    /// <summary>The shape of a full target batch (empty when there are no targets).</summary>
    public int[] TargetShape { get; }

    /// <summary>The number of valid rows in the current batch (BatchSize except perhaps for the last).</summary>
    public int CurrentSize { get; private set; }

    /// <summary>The dataset row indices of the current batch, in buffer order.</summary>
    public ReadOnlySpan<int> CurrentRows => _order.AsSpan(_currentStart, CurrentSize);

    /// <summary>Starts an epoch: draws a new order when shuffling, and rewinds.</summary>
    public void StartEpoch()
    {
        if (_rng is not null) _rng.Shuffle(_order);
        _next = 0;
        CurrentSize = 0;
    }

    /// <summary>Copies the next batch into the buffers; false when the epoch is over.</summary>
    public bool MoveNext()
    {
        if (_next >= _order.Length) { CurrentSize = 0; return false; }
        _currentStart = _next;
        CurrentSize = Math.Min(BatchSize, _order.Length - _next);
        var features = _data.Features.Data;
        var targets = _data.Targets?.Data;
        for (int i = 0; i < CurrentSize; i++)
        {
            int row = _order[_next + i];
            Array.Copy(features, row * _featureSize, Features, i * _featureSize, _featureSize);
            if (targets is not null) Array.Copy(targets, row * _targetSize, Targets, i * _targetSize, _targetSize);
        }
        _next += CurrentSize;
        return true;
    }
}
