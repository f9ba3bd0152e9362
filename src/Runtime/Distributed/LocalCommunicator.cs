namespace Nn.Runtime.Distributed;

/// <summary>A rank of a job ended by <see cref="ICommunicator.Abort"/> (its own or another rank's): every call of
/// every rank throws this from then on, so no rank waits for a message that will never come.</summary>
internal sealed class CommunicatorAbortedException(int exitCode)
    : Exception($"the job was aborted with exit code {exitCode}")
{
    /// <summary>The code given to <see cref="ICommunicator.Abort"/>.</summary>
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// <see cref="ICommunicator"/> for N ranks that are N threads of one process: the in-process stand-in for MPI, so
/// pipeline and data-parallel training run (and are tested) where <c>mpirun</c> is missing. Point-to-point messages
/// go through one queue per (source, destination, tag), in order, as MPI matches them; a send copies the data and
/// returns at once (MPI's buffered send: a program that relies on it would deadlock under MPI only if it also
/// relied on a send waiting for its receive, which the pipeline schedule does not). Collectives meet at a
/// rendezvous where the last rank to arrive combines the contributions in rank order, so sums are the same
/// whatever the threads' timing. <see cref="Abort"/> wakes every waiting rank with
/// <see cref="CommunicatorAbortedException"/>.
/// </summary>
internal sealed class LocalCommunicator : ICommunicator
{
    /// <summary>What the ranks of one job share.</summary>
    private sealed class Job(int size)
    {
        public readonly object Gate = new();
        public readonly int Size = size;
        public readonly Dictionary<(int Source, int Dest, int Tag), Queue<float[]>> Queues = [];
        public object?[] Slots = new object?[size];
        public object?[] Published = [];
        public int Arrived;
        public long Generation;
        public int? AbortCode;

        public void ThrowIfAborted()
        {
            if (AbortCode is int code) throw new CommunicatorAbortedException(code);
        }

        /// <summary>Waits on the gate (held) until <paramref name="done"/>, or throws when the job is
        /// aborted.</summary>
        public void WaitUntil(Func<bool> done)
        {
            while (true)
            {
                ThrowIfAborted();
                if (done()) return;
                Monitor.Wait(Gate, 1000);
            }
        }
    }

    private readonly Job _job;

    private LocalCommunicator(Job job, int rank) { _job = job; Rank = rank; }

    /// <summary>The <paramref name="size"/> ranks of a new job, rank i at index i; give each to its own
    /// thread.</summary>
    public static LocalCommunicator[] Create(int size)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), $"a job needs at least one rank, got {size}");
        var job = new Job(size);
        return Enumerable.Range(0, size).Select(r => new LocalCommunicator(job, r)).ToArray();
    }

    /// <inheritdoc />
    public int Rank { get; }

    /// <inheritdoc />
    public int Size => _job.Size;

    /// <summary>Every rank's contribution, in rank order, once all have given theirs.</summary>
    private object?[] Exchange(object? mine)
    {
        var j = _job;
        lock (j.Gate)
        {
            j.ThrowIfAborted();
            long generation = j.Generation;
            j.Slots[Rank] = mine;
            if (++j.Arrived == j.Size)
            {
                j.Published = j.Slots;
                j.Slots = new object?[j.Size];
                j.Arrived = 0;
                j.Generation++;
                Monitor.PulseAll(j.Gate);
                return j.Published;
            }
            j.WaitUntil(() => j.Generation != generation);
            // the next exchange cannot complete before this rank has joined it, so Published is still this one's
            return j.Published;
        }
    }

    /// <inheritdoc />
    public void AllreduceSum(Span<float> data)
    {
        var all = Exchange(data.ToArray());
        for (int i = 0; i < data.Length; i++)
        {
            float s = 0;
            foreach (var c in all) s += ((float[])c!)[i];
            data[i] = s;
        }
    }

    /// <inheritdoc />
    public void AllreduceSum(Span<double> data)
    {
        var all = Exchange(data.ToArray());
        for (int i = 0; i < data.Length; i++)
        {
            double s = 0;
            foreach (var c in all) s += ((double[])c!)[i];
            data[i] = s;
        }
    }

    /// <inheritdoc />
    public void Broadcast(Span<byte> data, int root)
    {
        CheckRank(root);
        var all = Exchange(Rank == root ? data.ToArray() : null);
        var sent = (byte[])all[root]!;
        if (sent.Length != data.Length)
            throw new InvalidOperationException(
                $"broadcast of {sent.Length} bytes from rank {root} into {data.Length}");
        sent.CopyTo(data);
    }

    /// <inheritdoc />
    public void Send(ReadOnlySpan<float> data, int dest, int tag)
    {
        CheckRank(dest);
        var j = _job;
        var copy = data.ToArray();
        lock (j.Gate)
        {
            j.ThrowIfAborted();
            var key = (Rank, dest, tag);
            if (!j.Queues.TryGetValue(key, out var q)) j.Queues[key] = q = new Queue<float[]>();
            q.Enqueue(copy);
            Monitor.PulseAll(j.Gate);
        }
    }

    /// <inheritdoc />
    public void Receive(Span<float> data, int source, int tag)
    {
        CheckRank(source);
        var j = _job;
        float[] message;
        lock (j.Gate)
        {
            var key = (source, Rank, tag);
            j.WaitUntil(() => j.Queues.TryGetValue(key, out var q) && q.Count > 0);
            message = j.Queues[key].Dequeue();
        }
        if (message.Length != data.Length)
            throw new InvalidOperationException(
                $"rank {Rank} expected {data.Length} floats from rank {source} (tag {tag}), got {message.Length}");
        message.CopyTo(data);
    }

    /// <inheritdoc />
    public void Barrier() => Exchange(null);

    /// <inheritdoc />
    public void Abort(int exitCode)
    {
        var j = _job;
        lock (j.Gate)
        {
            j.AbortCode ??= exitCode;
            Monitor.PulseAll(j.Gate);
        }
        throw new CommunicatorAbortedException(exitCode);
    }

    /// <summary>True once some rank has called <see cref="Abort"/>.</summary>
    public bool Aborted
    {
        get { lock (_job.Gate) return _job.AbortCode is not null; }
    }

    private void CheckRank(int r)
    {
        if (r < 0 || r >= Size) throw new ArgumentOutOfRangeException(nameof(r), $"rank {r} of a job of {Size}");
    }

    /// <inheritdoc />
    public void Dispose() { }
}
