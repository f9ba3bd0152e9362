namespace Nn.Runtime.Training;

/// <summary>
/// The sum across the ranks of a data-parallel job that the kernels of <see cref="IR.OpKind.RankSum"/> call, from
/// the thread that runs the kernel, in the order the plan runs them (the same on every rank: one graph, one plan).
/// <c>Distributed.DataParallelExecutor</c> hands its communicator to its executor as this
/// (<see cref="IStepExecutor.UseRanks"/>); Training and the engines below know this interface, not the distributed
/// layer.
/// </summary>
internal interface IRankSum
{
    /// <summary>Every rank's <paramref name="data"/> becomes the element-wise sum over ranks (in place).</summary>
    void Sum(System.Span<float> data);

    /// <summary>Every rank's <paramref name="data"/> becomes the element-wise sum over ranks (in place).</summary>
    void Sum(System.Span<double> data);
}
