using Nn.Runtime.Training;

namespace Nn.Runtime.Distributed;

/// <summary>The communicator's allreduce as the sum that RankSum kernels call (<see cref="IRankSum"/>): how a
/// collective op in a step's graph reaches the job's ranks. <see cref="DataParallelExecutor"/> hands it to its
/// gradient executor before each step; the kernel calls it from the thread that runs the plan.</summary>
internal sealed class CommunicatorRankSum(ICommunicator comm) : IRankSum
{
    /// <inheritdoc />
    public void Sum(Span<float> data) => comm.AllreduceSum(data);

    /// <inheritdoc />
    public void Sum(Span<double> data) => comm.AllreduceSum(data);
}
