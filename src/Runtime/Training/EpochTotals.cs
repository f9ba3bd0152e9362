using Nn.Runtime.Ops;

namespace Nn.Runtime.Training;

/// <summary>
/// The loss and metrics over many batches (an epoch's training rows, its validation rows, or <c>nn eval</c>'s rows):
/// the loss is averaged over the rows (each batch weighted by its rows), and each metric is computed from its
/// statistics accumulated over every batch (<see cref="Metric.NewTotal"/>), so precision, recall, f1, rmse and r2 are
/// those of all the rows, not an average of per-batch values.
/// </summary>
internal sealed class EpochTotals
{
    private readonly MetricTotal[] _metrics;
    private double _loss, _rows;

    /// <summary>Empty totals of these metrics.</summary>
    public EpochTotals(IReadOnlyList<Metric> metrics) => _metrics = metrics.Select(m => m.NewTotal()).ToArray();

    /// <summary>Adds a batch of <paramref name="rows"/> rows.</summary>
    public void Add(BatchResult r, int rows)
    {
        _loss += r.Loss * rows;
        _rows += rows;
        for (int i = 0; i < _metrics.Length; i++) _metrics[i].Add(r.Statistics[i], rows);
    }

    /// <summary>The mean loss per row.</summary>
    public double Loss => _loss / _rows;

    /// <summary>Each metric over all rows added.</summary>
    public double[] Metrics => _metrics.Select(m => m.Value).ToArray();
}
