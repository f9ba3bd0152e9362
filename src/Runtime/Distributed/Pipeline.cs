using System.Runtime.ExceptionServices;
using Nn.Runtime.Data;
using Nn.Runtime.Training;

namespace Nn.Runtime.Distributed;

/// <summary>
/// Pipeline (model) parallelism's entry point: <see cref="Create"/> gives the executor of a pipelined training step.
/// With a communicator (an MPI job: one process per stage) it is that rank's <see cref="PipelineExecutor"/>; without
/// one, every stage runs as a thread of this process (<see cref="LocalPipeline"/> over
/// <see cref="LocalCommunicator"/>).
/// </summary>
internal static class Pipeline
{
    /// <summary>Micro-batches per batch when not given: 4 per stage, GPipe's advice (M ≥ 4K keeps the idle
    /// "bubble" (K − 1)/(M + K − 1) of a K-stage pipeline under 20%).</summary>
    public static int DefaultMicroBatches(int stages) => 4 * stages;

    /// <summary>The executor of <paramref name="graphs"/> cut into <paramref name="stages"/> stages, from
    /// <paramref name="initial"/> values. <paramref name="comm"/>: the job's communicator (its size must be
    /// <paramref name="stages"/>), or null for threads of this process.</summary>
    /// <exception cref="NnRuntimeException">NN0820–NN0824</exception>
    public static IStepExecutor Create(StepGraphs graphs, IReadOnlyDictionary<string, HostTensor> initial,
        int stages, int? microBatches, string network, ICommunicator? comm = null)
    {
        if (stages < 1)
            throw new NnRuntimeException(PipelineCodes.BadStages, SourceSpan.None,
                $"--pipeline needs a whole number of stages of at least 1, got {stages}");
        int micro = microBatches ?? DefaultMicroBatches(stages);
        if (micro < 1)
            throw new NnRuntimeException(PipelineCodes.BadStages, SourceSpan.None,
                $"--micro-batches needs a whole number of at least 1, got {micro}");
        var pipeline = PipelineGraphs.Build(graphs, stages, network);
        if (comm is not null)
        {
            if (comm.Size != stages)
                throw new NnRuntimeException(PipelineCodes.BadStages, SourceSpan.None,
                    $"--pipeline {stages} needs {stages} ranks, but the job has {comm.Size}");
            return new PipelineExecutor(pipeline, comm, initial, micro);
        }
        return new LocalPipeline(pipeline, initial, micro);
    }
}

/// <summary>
/// A pipeline whose stages are threads of this process: one <see cref="PipelineExecutor"/> per stage over
/// <see cref="LocalCommunicator"/>. Each call runs on every stage at once (stage 0 on the calling thread) and returns
/// stage 0's result, which every stage agrees on. When a stage fails, the job is aborted so the others stop waiting,
/// and the first failure is rethrown as it was.
/// </summary>
internal sealed class LocalPipeline : IStepExecutor
{
    private readonly PipelineExecutor[] _ranks;
    private readonly LocalCommunicator[] _comms;
    private bool _stale = true;

    /// <summary>The stages of <paramref name="pipeline"/> as threads.</summary>
    public LocalPipeline(PipelineGraphs pipeline, IReadOnlyDictionary<string, HostTensor> initial, int microBatches)
    {
        _comms = LocalCommunicator.Create(pipeline.Stages.Count);
        _ranks = _comms.Select(c => new PipelineExecutor(pipeline, c, initial, microBatches)).ToArray();
    }

    /// <summary>Runs <paramref name="f"/> on every stage at once; stage 0's result.</summary>
    private T OnEvery<T>(Func<PipelineExecutor, T> f)
    {
        var results = new T[_ranks.Length];
        var errors = new Exception?[_ranks.Length];
        void Run(int r)
        {
            try { results[r] = f(_ranks[r]); }
            catch (Exception e)
            {
                errors[r] = e;
                try { _comms[r].Abort(1); } catch (CommunicatorAbortedException) { }
            }
        }
        var others = Enumerable.Range(1, _ranks.Length - 1).Select(r => Task.Run(() => Run(r))).ToArray();
        Run(0);
        Task.WaitAll(others);
        var first = errors.FirstOrDefault(e => e is not null and not CommunicatorAbortedException)
            ?? errors.FirstOrDefault(e => e is not null);
        if (first is not null) ExceptionDispatchInfo.Capture(first).Throw();
        return results[0];
    }

    /// <inheritdoc />
    public BatchResult Step(IReadOnlyList<HostTensor> inputs, HostTensor? target, double lr, long step, ulong seed)
    {
        _stale = true;
        return OnEvery(r => r.Step(inputs, target, lr, step, seed));
    }

    /// <summary>Every stage's values gathered on every stage, when they changed.</summary>
    private PipelineExecutor Synchronized()
    {
        if (_stale) OnEvery(r => { r.Synchronize(); return 0; });
        _stale = false;
        return _ranks[0];
    }

    /// <inheritdoc />
    public void Load(IReadOnlyDictionary<string, HostTensor> values)
    {
        foreach (var r in _ranks) r.Load(values);
        _stale = true;
    }

    /// <inheritdoc />
    public Dictionary<string, HostTensor> Snapshot() => Synchronized().Snapshot();

    /// <inheritdoc />
    public BatchResult Evaluate(IReadOnlyList<HostTensor> inputs, HostTensor? target) =>
        Synchronized().Evaluate(inputs, target);

    /// <inheritdoc />
    public HostTensor Predict(IReadOnlyList<HostTensor> inputs) => Synchronized().Predict(inputs);
}
