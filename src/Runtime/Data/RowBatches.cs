using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Nn.Runtime.Util;

namespace Nn.Runtime.Data;

/// <summary>
/// The rows of an input file decoded on a thread of their own, batch by batch, into a small ring of batch tensors
/// that the caller runs where they were decoded (no per-batch copy, no array of the whole input) and then gives back
/// for the next rows: how <c>nn predict</c> reads its input while it compiles the program and runs the network on
/// the batches before (as PyTorch's <c>DataLoader</c> workers fill batches while the model runs). When the caller
/// finds no batch ready and the reader is not decoding one (it has no core: a busy machine), the caller decodes the
/// next batch itself rather than wait for the reader to be scheduled.
/// A file of at most <c>batchRows</c> rows is one batch of exactly its rows; a longer one runs in batches of
/// <c>batchRows</c>, the last padded with zero rows. Errors (opening, damage found part way) are raised to the caller
/// by <see cref="Shape"/> or <see cref="Next"/>, in the order the rows are taken.
/// </summary>
internal sealed class RowBatches : IDisposable
{
    /// <summary>One batch: <see cref="Tensor"/> holds the file's rows <see cref="Start"/> ..
    /// <see cref="Start"/> + <see cref="Rows"/> - 1 first, then zero rows.</summary>
    public sealed record Batch(HostTensor Tensor, int Start, int Rows);

    private readonly BlockingCollection<object> _filled = new();
    private readonly ConcurrentQueue<HostTensor> _free = new();
    private readonly SemaphoreSlim _returned = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<int[]> _shape = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread _thread;
    private readonly int _batchRows;
    private readonly Action<Batch>? _decoded;

    /// <summary>One decoder at a time (the reader thread or the caller); guards the fields below.</summary>
    private readonly object _gate = new();
    private IdxRows? _rows;
    private int _start, _rowCount, _rowSize, _inBatch;
    /// <summary>The ring's tensors: how many at most, how many made so far, and their shape.</summary>
    private int _ringSize, _made;
    private int[]? _batchShape;
    private bool _finished;

    private bool _ended, _disposed;

    /// <summary>Starts reading: <paramref name="open"/> (on the reader thread) opens the file;
    /// <paramref name="decoded"/>, when given, sees each batch once its rows are in, before the caller does (to check
    /// or copy rows), on the thread that decoded it, one batch at a time and in order.</summary>
    public RowBatches(Func<IdxRows> open, int batchRows, int depth, Action<Batch>? decoded = null)
    {
        if (batchRows < 1 || depth < 1) throw new ArgumentException("batchRows and depth must be at least 1");
        _batchRows = batchRows;
        _decoded = decoded;
        _thread = new Thread(() => ReadAll(open, depth)) { IsBackground = true, Name = "nn input reader" };
        _thread.Start();
    }

    /// <summary>The shape of the whole file (waits for its header).</summary>
    /// <exception cref="DataException">when the file cannot be opened or its header is bad</exception>
    public int[] Shape => _shape.Task.GetAwaiter().GetResult();

    /// <summary>The next batch, in order, or null after the last one (the file checked to its end): one the reader
    /// has ready, else one the caller decodes now, else (the reader is decoding it) the reader's when done.
    /// </summary>
    /// <exception cref="DataException">when the file is damaged before the end of this batch</exception>
    public Batch? Next()
    {
        if (_ended) return null;
        if (!_filled.TryTake(out var next))
        {
            Wake();
            if (Monitor.TryEnter(_gate))
            {
                try { DecodeNext(); }
                finally { Monitor.Exit(_gate); }
            }
            next = _filled.Take();
        }
        switch (next)
        {
            case Batch b: return b;
            case ExceptionDispatchInfo e: _ended = true; e.Throw(); return null;
            default: _ended = true; return null;
        }
    }

    /// <summary>Gives a batch back to be filled with later rows (on the thread that takes them, <see cref="Next"/>).
    /// The reader, usually ahead and asleep, is woken once half the ring is free rather than for every batch: a
    /// wake-up is a system call of ~15 µs on a virtual machine, ~1 ms of <c>nn predict</c>'s command thread for 40
    /// batches (issue #18); <see cref="Next"/> wakes it at once when it finds no batch ready.</summary>
    public void Return(Batch b)
    {
        _free.Enqueue(b.Tensor);
        if (++_unwoken >= Math.Max(1, Volatile.Read(ref _ringSize) / 2)) Wake();
    }

    /// <summary>Batches given back since the reader was last woken (the caller's thread only).</summary>
    private int _unwoken;

    private void Wake()
    {
        if (_unwoken == 0) return;
        _unwoken = 0;
        _returned.Release();
    }

    private void ReadAll(Func<IdxRows> open, int depth)
    {
        var token = _stop.Token;
        try
        {
            lock (_gate)
            {
                try
                {
                    _rows = open();
                    var shape = _rows.Shape;
                    _shape.SetResult(shape);
                    if (shape.Length == 0) throw new ArgumentException("a file of rows has at least one axis");
                    _rowCount = shape[0];
                    _rowSize = _rowCount == 0 ? 0 : (int)(_rows.Count / _rowCount);
                    _inBatch = Math.Min(_rowCount, _batchRows);
                    _batchShape = (int[])shape.Clone();
                    _batchShape[0] = _inBatch;
                    _ringSize = (int)Math.Min(depth, (Math.Max(_rowCount, 1) + (long)_batchRows - 1) / _batchRows);
                }
                catch (Exception e) { Fail(e); return; }
            }
            while (true)
            {
                lock (_gate)
                {
                    while (!_finished && (!_free.IsEmpty || _made < _ringSize)) DecodeNext();
                    if (_finished) return;
                }
                _returned.Wait(token);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested) { }
        finally { _rows?.Dispose(); }
    }

    /// <summary>Decodes the next batch into a free ring tensor, or a new one while the ring is not full (none free
    /// or all decoded: nothing); then, after the
    /// last rows, checks the file to its end. Holds <see cref="_gate"/>.</summary>
    private void DecodeNext()
    {
        if (_finished || _rows is null) return;
        if (!_free.TryDequeue(out var t))
        {
            if (_made >= _ringSize) return;
            // the ring's tensors are made as they are first needed, not all before the first batch: 6.4 MB of fresh
            // pages for MNIST (~8 ms on a virtual machine's page faults) no longer precede the first rows; every
            // element is written below (the rows read, the rest cleared)
            t = new HostTensor((int[])_batchShape!.Clone(), Pages.Uninitialized<float>((long)_inBatch * _rowSize));
            _made++;
        }
        try
        {
            int count = Math.Min(_inBatch, _rowCount - _start);
            _rows.Read(t.Data.AsSpan(0, count * _rowSize));
            t.Data.AsSpan(count * _rowSize).Clear();
            var b = new Batch(t, _start, count);
            _decoded?.Invoke(b);
            _filled.Add(b);
            _start += _batchRows;
            if (_start >= _rowCount)
            {
                _rows.Finish();
                _finished = true;
                _filled.Add(true);
            }
        }
        catch (Exception e) { Fail(e); }
    }

    /// <summary>Ends the batches with <paramref name="e"/>, raised to the caller in its turn.</summary>
    private void Fail(Exception e)
    {
        _finished = true;
        _shape.TrySetException(e);
        _filled.Add(ExceptionDispatchInfo.Capture(e));
    }

    /// <summary>Stops the reader (it may be waiting for a batch given back) and waits for its thread.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stop.Cancel();
        _thread.Join();
        _stop.Dispose();
        _returned.Dispose();
    }
}
