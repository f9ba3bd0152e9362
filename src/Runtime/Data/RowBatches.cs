using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Nn.Runtime.Data;

/// <summary>
/// The rows of an input file decoded on a thread of their own, batch by batch, into a small ring of batch tensors
/// that the caller runs where they were decoded (no per-batch copy, no array of the whole input) and then gives back
/// for the next rows: how <c>nn predict</c> reads its input while it compiles the program and runs the network on
/// the batches before (as PyTorch's <c>DataLoader</c> workers fill batches while the model runs).
/// A file of at most <c>batchRows</c> rows is one batch of exactly its rows; a longer one runs in batches of
/// <c>batchRows</c>, the last padded with zero rows. Errors of the reader (opening, damage found part way) are raised
/// to the caller by <see cref="Shape"/> or <see cref="Next"/>, in the order the rows are taken.
/// </summary>
internal sealed class RowBatches : IDisposable
{
    /// <summary>One batch: <see cref="Tensor"/> holds the file's rows <see cref="Start"/> ..
    /// <see cref="Start"/> + <see cref="Rows"/> - 1 first, then zero rows.</summary>
    public sealed record Batch(HostTensor Tensor, int Start, int Rows);

    private readonly BlockingCollection<object> _filled = new();
    private readonly BlockingCollection<HostTensor> _free = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<int[]> _shape = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread _thread;
    private bool _ended, _disposed;

    /// <summary>Starts reading: <paramref name="open"/> (on the reader thread) opens the file;
    /// <paramref name="decoded"/>, when given, sees each batch on the reader thread once its rows are in, before the
    /// caller does (to check or copy rows).</summary>
    public RowBatches(Func<IdxRows> open, int batchRows, int depth, Action<Batch>? decoded = null)
    {
        if (batchRows < 1 || depth < 1) throw new ArgumentException("batchRows and depth must be at least 1");
        _thread = new Thread(() => ReadAll(open, batchRows, depth, decoded))
        {
            IsBackground = true, Name = "nn input reader"
        };
        _thread.Start();
    }

    /// <summary>The shape of the whole file (waits for its header).</summary>
    /// <exception cref="DataException">when the file cannot be opened or its header is bad</exception>
    public int[] Shape => _shape.Task.GetAwaiter().GetResult();

    /// <summary>The next batch, in order (waits for it), or null after the last one (the file checked to its end).
    /// </summary>
    /// <exception cref="DataException">when the file is damaged before the end of this batch</exception>
    public Batch? Next()
    {
        if (_ended) return null;
        switch (_filled.Take())
        {
            case Batch b: return b;
            case ExceptionDispatchInfo e: _ended = true; e.Throw(); return null;
            default: _ended = true; return null;
        }
    }

    /// <summary>Gives a batch back to be filled with later rows.</summary>
    public void Return(Batch b) => _free.Add(b.Tensor);

    private void ReadAll(Func<IdxRows> open, int batchRows, int depth, Action<Batch>? decoded)
    {
        var token = _stop.Token;
        try
        {
            using var rows = open();
            var shape = rows.Shape;
            _shape.SetResult(shape);
            if (shape.Length == 0) throw new ArgumentException("a file of rows has at least one axis");
            int n = shape[0], size = n == 0 ? 0 : (int)(rows.Count / n);
            var batchShape = (int[])shape.Clone();
            batchShape[0] = Math.Min(n, batchRows);
            for (int i = 0; i < depth && i * batchRows < Math.Max(n, 1); i++)
                _free.Add(new HostTensor((int[])batchShape.Clone(), new float[batchShape[0] * size]));
            for (int start = 0; start < n || start == 0; start += batchRows)
            {
                var t = _free.Take(token);
                int count = Math.Min(batchShape[0], n - start);
                rows.Read(t.Data.AsSpan(0, count * size));
                t.Data.AsSpan(count * size).Clear();
                var b = new Batch(t, start, count);
                decoded?.Invoke(b);
                _filled.Add(b);
                if (n == 0) break;
            }
            rows.Finish();
            _filled.Add(true);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested) { }
        catch (Exception e)
        {
            _shape.TrySetException(e);
            _filled.Add(ExceptionDispatchInfo.Capture(e));
        }
    }

    /// <summary>Stops the reader (it may be waiting for a batch given back) and waits for its thread.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stop.Cancel();
        _thread.Join();
        _stop.Dispose();
    }
}
