namespace Nn.Runtime.Distributed;

/// <summary>
/// <see cref="ICommunicator"/> on Open MPI's <c>MPI_COMM_WORLD</c> (<see cref="MpiNative"/>): this process is one
/// rank of a job started by <c>mpirun</c>. Created once per process (<see cref="Join"/>): MPI is initialised then
/// (MPI_Init_thread, serialised threads) and finalised when it is disposed. Open MPI's default error handler ends the
/// job on a failed call; a rank that dies is noticed by <c>mpirun</c>, which ends the others.
/// </summary>
internal sealed class MpiCommunicator : ICommunicator, IAsyncAllreduce
{
    private readonly MpiNative _mpi;
    private bool _disposed;

    private MpiCommunicator(MpiNative mpi, int rank, int size)
    {
        _mpi = mpi; Rank = rank; Size = size;
    }

    private static MpiCommunicator? _world;
    private static readonly object Gate = new();

    /// <summary>True when this process was started by Open MPI's <c>mpirun</c> (its environment names the job's
    /// size), so <see cref="Join"/> can join the job.</summary>
    public static bool InJob => JobSize() is not null;

    /// <summary>The size of the job this process was started in by <c>mpirun</c>, from Open MPI's environment
    /// (<c>OMPI_COMM_WORLD_SIZE</c>); null outside a job.</summary>
    public static int? JobSize() =>
        int.TryParse(System.Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE"), out var n) && n > 0
            ? n : null;

    /// <summary>Initialises MPI (once per process) and returns the world communicator.</summary>
    /// <exception cref="DllNotFoundException">when Open MPI's libmpi is missing</exception>
    /// <exception cref="InvalidOperationException">when MPI_Init_thread fails, or MPI was already finalised</exception>
    public static MpiCommunicator Join()
    {
        lock (Gate)
        {
            if (_world is { _disposed: false }) return _world;
            var mpi = MpiNative.Load();
            Check(mpi.Finalized(out int finalized), "MPI_Finalized");
            if (finalized != 0) throw new InvalidOperationException("MPI was already finalised in this process");
            Check(mpi.Initialized(out int initialized), "MPI_Initialized");
            if (initialized == 0)
                Check(mpi.InitThread(IntPtr.Zero, IntPtr.Zero, MpiNative.ThreadSerialized, out _), "MPI_Init_thread");
            Check(mpi.CommRank(mpi.CommWorld, out int rank), "MPI_Comm_rank");
            Check(mpi.CommSize(mpi.CommWorld, out int size), "MPI_Comm_size");
            return _world = new MpiCommunicator(mpi, rank, size);
        }
    }

    /// <inheritdoc />
    public int Rank { get; }

    /// <inheritdoc />
    public int Size { get; }

    /// <inheritdoc />
    public void AllreduceSum(Span<float> data)
    {
        if (data.IsEmpty) return;
        Check(_mpi.AllreduceFloat(MpiNative.InPlace, ref data[0], data.Length, _mpi.Float, _mpi.Sum, _mpi.CommWorld),
            "MPI_Allreduce");
    }

    /// <summary>The sums started and not yet known done, oldest first, with their pinned arrays.</summary>
    private readonly List<(IntPtr Request, System.Runtime.InteropServices.GCHandle Pin)> _inFlight = [];

    /// <inheritdoc />
    /// <remarks>MPI_Iallreduce in place; the array stays pinned until the sum is done.</remarks>
    public void StartAllreduceSum(float[] data, int offset, int count)
    {
        if (count == 0) return;
        var pin = System.Runtime.InteropServices.GCHandle.Alloc(data,
            System.Runtime.InteropServices.GCHandleType.Pinned);
        var at = pin.AddrOfPinnedObject() + (nint)offset * sizeof(float);
        Check(_mpi.Iallreduce(MpiNative.InPlace, at, count, _mpi.Float, _mpi.Sum, _mpi.CommWorld, out var request),
            "MPI_Iallreduce");
        _inFlight.Add((request, pin));
    }

    /// <inheritdoc />
    /// <remarks>MPI_Test of the oldest sums (any MPI call advances them all) until one is not done.</remarks>
    public void Progress()
    {
        while (_inFlight.Count > 0)
        {
            var (request, pin) = _inFlight[0];
            Check(_mpi.Test(ref request, out int done, IntPtr.Zero), "MPI_Test");
            if (done == 0) { _inFlight[0] = (request, pin); return; }
            pin.Free();
            _inFlight.RemoveAt(0);
        }
    }

    /// <inheritdoc />
    public void WaitAll()
    {
        foreach (var (r, pin) in _inFlight)
        {
            var request = r;
            Check(_mpi.Wait(ref request, IntPtr.Zero), "MPI_Wait");
            pin.Free();
        }
        _inFlight.Clear();
    }

    /// <inheritdoc />
    public void AllreduceSum(Span<double> data)
    {
        if (data.IsEmpty) return;
        Check(_mpi.AllreduceDouble(MpiNative.InPlace, ref data[0], data.Length, _mpi.Double, _mpi.Sum,
            _mpi.CommWorld), "MPI_Allreduce");
    }

    /// <inheritdoc />
    public void Broadcast(Span<byte> data, int root)
    {
        if (data.IsEmpty) return;
        Check(_mpi.Bcast(ref data[0], data.Length, _mpi.Byte, root, _mpi.CommWorld), "MPI_Bcast");
    }

    /// <inheritdoc />
    public void Send(ReadOnlySpan<float> data, int dest, int tag)
    {
        if (data.IsEmpty) return;
        // MPI_Send does not write its buffer; the delegate takes a ref for pinning only
        ref float first = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(data);
        Check(_mpi.Send(ref first, data.Length, _mpi.Float, dest, tag, _mpi.CommWorld), "MPI_Send");
    }

    /// <inheritdoc />
    public void Receive(Span<float> data, int source, int tag)
    {
        if (data.IsEmpty) return;
        Check(_mpi.Recv(ref data[0], data.Length, _mpi.Float, source, tag, _mpi.CommWorld, IntPtr.Zero), "MPI_Recv");
    }

    /// <inheritdoc />
    public void Barrier() => Check(_mpi.Barrier(_mpi.CommWorld), "MPI_Barrier");

    /// <inheritdoc />
    public void Abort(int exitCode)
    {
        System.Console.Out.Flush();
        System.Console.Error.Flush();
        _mpi.Abort(_mpi.CommWorld, exitCode);
        System.Environment.Exit(exitCode); // MPI_Abort does not return; should it, this process still ends
    }

    /// <summary>Finalises MPI (MPI_Finalize), once.</summary>
    public void Dispose()
    {
        lock (Gate)
        {
            if (_disposed) return;
            _disposed = true;
            _mpi.Finalize();
        }
    }

    private static void Check(int code, string call)
    {
        if (code != 0) throw new InvalidOperationException($"{call} failed with MPI error {code}");
    }
}
