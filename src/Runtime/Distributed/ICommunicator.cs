namespace Nn.Runtime.Distributed;

/// <summary>
/// The processes of one training job and the messages between them, as MPI defines them (a communicator of
/// <see cref="Size"/> ranks). Data parallelism sums gradients with <see cref="AllreduceSum(System.Span{float})"/>;
/// pipeline (model) parallelism moves activations and gradients between neighbouring stages with
/// <see cref="Send"/> and <see cref="Receive"/>. One implementation calls Open MPI's libmpi; an in-process one
/// (threads of one process) serves tests where mpirun is missing. Every call is collective or matched as MPI
/// requires; a failure on any rank ends every rank (<see cref="Abort"/>), never a hang.
/// </summary>
internal interface ICommunicator : System.IDisposable
{
    /// <summary>This process's number, 0 .. Size-1; rank 0 prints and writes files.</summary>
    int Rank { get; }

    /// <summary>The number of processes in the job.</summary>
    int Size { get; }

    /// <summary>Every rank's <paramref name="data"/> becomes the element-wise sum over ranks (in place).</summary>
    void AllreduceSum(System.Span<float> data);

    /// <summary>Every rank's <paramref name="data"/> becomes the element-wise sum over ranks (in place).</summary>
    void AllreduceSum(System.Span<double> data);

    /// <summary>Rank <paramref name="root"/>'s bytes are copied to every other rank.</summary>
    void Broadcast(System.Span<byte> data, int root);

    /// <summary>Sends to rank <paramref name="dest"/>; matched by a <see cref="Receive"/> with the same tag.</summary>
    void Send(System.ReadOnlySpan<float> data, int dest, int tag);

    /// <summary>Receives exactly data.Length floats from rank <paramref name="source"/> with this tag.</summary>
    void Receive(System.Span<float> data, int source, int tag);

    /// <summary>Returns when every rank has called it.</summary>
    void Barrier();

    /// <summary>Ends every rank of the job with this exit code (MPI_Abort); does not return.</summary>
    void Abort(int exitCode);
}

/// <summary>
/// Sums started now and finished later, so that the caller computes meanwhile (data parallelism's buckets): started
/// in the same order on every rank; the caller leaves the floats alone until <see cref="WaitAll"/>.
/// <see cref="CommunicationThread"/> runs them on a thread of their own; <see cref="MpiCommunicator"/> as
/// <c>MPI_Iallreduce</c>, which Open MPI progresses only inside MPI calls (<see cref="Progress"/>).
/// </summary>
internal interface IAsyncAllreduce
{
    /// <summary>Starts summing <paramref name="count"/> floats of <paramref name="data"/> from
    /// <paramref name="offset"/> over the ranks, in place.</summary>
    void StartAllreduceSum(float[] data, int offset, int count);

    /// <summary>Lets the started sums advance (cheap; called between kernels).</summary>
    void Progress();

    /// <summary>Returns when every started sum is done.</summary>
    void WaitAll();
}
