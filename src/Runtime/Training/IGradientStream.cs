using Nn.Runtime.Data;

namespace Nn.Runtime.Training;

/// <summary>
/// An executor whose training step can hand out its outputs while the step is still running (data parallelism
/// starts summing a bucket of gradients over the ranks as soon as the backward pass has written its last gradient,
/// as PyTorch DDP's buckets and Horovod's tensor fusion do). The fused engine implements it: its plan knows after
/// which kernel each output is final (the last kernel writing its buffer).
/// </summary>
internal interface IGradientStream
{
    /// <summary>For each named output of the training graph, the index of the training plan's kernel after which its
    /// value is final; -1 when no kernel writes it (a constant or a source, final before the first kernel).</summary>
    int[] FinalAfter(IReadOnlyList<string> outputs);

    /// <summary>A training step (as <see cref="IStepExecutor.Step(IReadOnlyList{HostTensor}, HostTensor?, double,
    /// long, ulong)"/>) that calls <paramref name="afterKernel"/> with -1 before the first kernel and with i after
    /// kernel i, on the thread that runs the step; within the call <see cref="ReadOutput"/> reads the outputs that
    /// are final.</summary>
    BatchResult Step(IReadOnlyList<HostTensor> inputs, HostTensor? target, double lr, long step, ulong seed,
        Action<int> afterKernel);

    /// <summary>Copies the running step's output <paramref name="output"/>, row-major, into
    /// <paramref name="destination"/>: valid inside <c>afterKernel</c> once the output is final.</summary>
    void ReadOutput(string output, Span<float> destination);
}
