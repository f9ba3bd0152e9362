namespace Nn.Runtime.Training;

/// <summary>
/// An executor that trains on this rank's share of every batch (data parallelism:
/// <c>Distributed.DataParallelExecutor</c>): the trainer fills only the share's rows, tells the executor which rows of
/// the global batch they are, and has the ranks compare their weights every epoch. Training knows this interface,
/// not the distributed layer, so the folders keep their order (Distributed uses Training, never the reverse).
/// </summary>
internal interface IBatchShare
{
    /// <summary>This rank's rows [First, First + Count) of a batch of <paramref name="size"/> rows.</summary>
    (int First, int Count) ShareOf(int size);

    /// <summary>The next step or evaluation runs rows [firstRow, firstRow + rows) of a global batch.</summary>
    void Share(int firstRow, int rows, int globalRows);

    /// <summary>Every rank holds the same weights after <paramref name="epoch"/>; a mismatch is an error.</summary>
    void CheckSameWeights(int epoch);
}
