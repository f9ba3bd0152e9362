using System.Collections.Concurrent;

namespace Nn.Runtime.Distributed;

/// <summary>
/// An <see cref="ICommunicator"/> whose calls all run, in the order they were made, on one thread of its own, so a
/// sum can go on while the caller computes (<see cref="StartAllreduceSum"/>, as PyTorch DDP's and Horovod's
/// communication threads). Open MPI's non-blocking collectives progress only inside MPI calls, and MPI allows one
/// thread at a time in MPI (<c>MPI_THREAD_SERIALIZED</c>): with every call of the rank on this thread, the job needs
/// no more. The blocking calls of <see cref="ICommunicator"/> queue behind the sums already started and wait for
/// their turn: a collective op called from the thread running the plan (batchNorm statistics summed in the middle of
/// the backward pass) keeps its place in the order every rank issues its collectives. A failure of a queued call
/// (an aborted job) is thrown by the next <see cref="WaitAll"/> or blocking call.
/// </summary>
internal sealed class CommunicationThread : ICommunicator, IAsyncAllreduce
{
    private readonly ICommunicator _inner;
    private readonly BlockingCollection<Action> _queue = new();
    private readonly Thread _thread;
    private readonly object _gate = new();
    private int _pending;
    private Exception? _failure;

    /// <summary>Starts the thread that makes every call of <paramref name="inner"/> from now on.</summary>
    public CommunicationThread(ICommunicator inner)
    {
        _inner = inner;
        _thread = new Thread(Loop) { IsBackground = true, Name = $"nn communication (rank {inner.Rank})" };
        _thread.Start();
    }

    private void Loop()
    {
        foreach (var call in _queue.GetConsumingEnumerable())
        {
            try
            {
                lock (_gate) if (_failure is not null) continue; // after a failure, nothing more is sent
                call();
            }
            catch (Exception e) { lock (_gate) _failure ??= e; }
            finally
            {
                lock (_gate)
                {
                    _pending--;
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }

    private void Enqueue(Action call)
    {
        lock (_gate) _pending++;
        _queue.Add(call);
    }

    /// <summary>Starts summing <paramref name="count"/> floats of <paramref name="data"/> from
    /// <paramref name="offset"/> over the ranks, in place; the caller leaves them alone until <see cref="WaitAll"/>.
    /// </summary>
    public void StartAllreduceSum(float[] data, int offset, int count) =>
        Enqueue(() => _inner.AllreduceSum(data.AsSpan(offset, count)));

    /// <summary>Nothing: the thread drives its sums.</summary>
    public void Progress() { }

    /// <summary>Returns when every call made so far has run.</summary>
    /// <exception cref="Exception">the first failure of a queued call</exception>
    public void WaitAll()
    {
        if (Thread.CurrentThread == _thread) throw new InvalidOperationException("the communication thread waits");
        lock (_gate)
        {
            while (_pending > 0) Monitor.Wait(_gate);
            if (_failure is { } e) throw e is CommunicatorAbortedException a
                ? new CommunicatorAbortedException(a.ExitCode) : new InvalidOperationException(e.Message, e);
        }
    }

    /// <summary>Runs <paramref name="call"/> in its turn on the thread and waits for it.</summary>
    private void Call(Action call)
    {
        Enqueue(call);
        WaitAll();
    }

    /// <inheritdoc />
    public int Rank => _inner.Rank;

    /// <inheritdoc />
    public int Size => _inner.Size;

    // Spans cannot cross threads: the blocking calls copy (they carry statistics, checksums, a few floats).

    /// <inheritdoc />
    public void AllreduceSum(Span<float> data)
    {
        var copy = data.ToArray();
        Call(() => _inner.AllreduceSum(copy));
        copy.CopyTo(data);
    }

    /// <inheritdoc />
    public void AllreduceSum(Span<double> data)
    {
        var copy = data.ToArray();
        Call(() => _inner.AllreduceSum(copy));
        copy.CopyTo(data);
    }

    /// <inheritdoc />
    public void Broadcast(Span<byte> data, int root)
    {
        var copy = data.ToArray();
        Call(() => _inner.Broadcast(copy, root));
        copy.CopyTo(data);
    }

    /// <inheritdoc />
    public void Send(ReadOnlySpan<float> data, int dest, int tag)
    {
        var copy = data.ToArray();
        Call(() => _inner.Send(copy, dest, tag));
    }

    /// <inheritdoc />
    public void Receive(Span<float> data, int source, int tag)
    {
        var copy = new float[data.Length];
        Call(() => _inner.Receive(copy, source, tag));
        copy.CopyTo(data);
    }

    /// <inheritdoc />
    public void Barrier() => Call(_inner.Barrier);

    /// <inheritdoc />
    /// <remarks>At once, from the calling thread: the job ends whatever is queued.</remarks>
    public void Abort(int exitCode) => _inner.Abort(exitCode);

    /// <summary>Ends the thread once the queued calls have run; the inner communicator stays open (its owner's).
    /// </summary>
    public void Dispose()
    {
        _queue.CompleteAdding();
        if (Thread.CurrentThread != _thread) _thread.Join();
    }
}
