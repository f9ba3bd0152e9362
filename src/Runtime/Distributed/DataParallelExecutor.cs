using Nn.Runtime.Data;
using Nn.Runtime.IR;

using Nn.Runtime.Training;

namespace Nn.Runtime.Distributed;

/// <summary>Data parallelism cannot go on (NN0800–NN0819; docs/language.md and docs/distributed.md).</summary>
internal sealed class DataParallelException(string code, string message)
    : NnRuntimeException(code, SourceSpan.None, message)
{
    /// <summary>The ranks' weights differ after an epoch (their checksums disagree).</summary>
    public const string WeightsDiffer = "NN0800";
    /// <summary>The program cannot be trained across processes (class weights).</summary>
    public const string Unsupported = "NN0801";
    /// <summary><c>--bucket-mb</c> is not a number of megabytes of at least 0.</summary>
    public const string BadBuckets = "NN0807";
}

/// <summary>
/// One rank's <see cref="IStepExecutor"/> of a data-parallel job. Before each step or evaluation the trainer names
/// the rank's share of the batch (<see cref="Share"/>: contiguous rows of the global batch); a step runs
/// <see cref="DataParallelStep.Gradients"/> on the share, weighs its gradients, loss and metric statistics by the
/// share's fraction of the batch, sums them over the ranks in buckets (<see cref="GradientBuckets"/>, PyTorch DDP's
/// 25 MB buckets), each started on a communication thread as soon as the backward pass has written its last gradient
/// (the fused engine's <see cref="IGradientStream"/>) while the pass goes on, waits for every sum, and then runs
/// <see cref="DataParallelStep.Update"/> on every rank, so the weights stay identical. batchNorm normalises with the
/// global batch's statistics, summed across the ranks inside the step (<see cref="DataParallelStep.Collective"/>:
/// RankSum nodes, whose kernels call the communicator — the communication thread's queue, in order behind the
/// buckets already started — through <see cref="IStepExecutor.UseRanks"/>), so the running statistics are the same
/// on every rank. Such a step must run on every rank: a batch smaller than the number of ranks is then run whole by
/// every rank, on its own (no sums across ranks in the graph), and counted once (rank 0's). Steps and evaluations are
/// collective: every rank calls them in the same order, a rank with no rows in a batch too.
/// </summary>
internal sealed class DataParallelExecutor : IStepExecutor, IBatchShare
{
    private readonly DataParallelStep _split;
    private readonly IStepExecutor _grads, _update;
    private readonly ICommunicator _comm;
    private readonly string[] _trainable, _gradOutputs, _gradStates;
    private readonly GradientBuckets _buckets;
    private readonly CommunicationThread? _thread;
    private readonly IAsyncAllreduce? _async; // the thread, or MPI's non-blocking sums
    private readonly HostTensor[] _fed, _params;
    private readonly double[] _stats;
    private readonly IReadOnlyList<Ops.Metric> _metrics;
    private readonly int[] _widths; // each metric's number of statistics
    private int _firstRow, _rows, _globalRows;
    private readonly IRankSum _ranks;
    private bool _whole; // a collective step's small batch, run whole by every rank alone

    /// <summary>The executor of one rank, its two executors made by <paramref name="create"/> from
    /// <paramref name="initial"/> (every Param and State of the whole step, as for a one-process executor), summing
    /// the gradients as <paramref name="buckets"/> says (default: DDP's buckets, overlapping the backward pass).
    /// With overlap every call of <paramref name="comm"/> goes through this executor's communication thread
    /// (<see cref="Communicator"/>).</summary>
    public DataParallelExecutor(StepGraphs graphs, ICommunicator comm,
        Func<StepGraphs, Dictionary<string, HostTensor>, IStepExecutor> create,
        IReadOnlyDictionary<string, HostTensor> initial, BucketOptions? buckets = null)
    {
        _split = DataParallelStep.Of(graphs);
        buckets ??= new BucketOptions();
        _thread = buckets.Overlap && !(buckets.TestBetweenKernels && comm is IAsyncAllreduce)
            ? new CommunicationThread(comm) : null;
        _async = !buckets.Overlap ? null : _thread ?? comm as IAsyncAllreduce;
        _comm = _thread ?? comm;
        _ranks = new CommunicatorRankSum(_comm); // mid-plan collectives queue behind the started buckets
        _metrics = graphs.Spec.Metrics;
        Dictionary<string, HostTensor> ValuesOf(StepGraphs g) =>
            g.Params.Concat(g.States).ToDictionary(n => n.Name!, n => initial.TryGetValue(n.Name!, out var v)
                ? v : HostTensor.Zeros(n.Shape.Resolve(new Dictionary<string, int>())));
        _grads = create(_split.Gradients, ValuesOf(_split.Gradients));
        _update = create(_split.Update, ValuesOf(_split.Update));
        _trainable = _split.Trainable.Select(p => p.Name!).ToArray();
        int[] Shape(Node n) => n.Shape.Resolve(new Dictionary<string, int>());
        _gradStates = _trainable.Select(p => DataParallelStep.GradPrefix + p).ToArray();
        _gradOutputs = _gradStates.Select(g => TrainStep.NewPrefix + g).ToArray();
        var sizes = _split.Trainable.Select(p => Shape(p).Aggregate(1, (a, d) => a * d)).ToArray();
        _buckets = new GradientBuckets(sizes, _grads is IGradientStream s ? s.FinalAfter(_gradOutputs)
            : new int[sizes.Length], buckets);
        _fed = _split.Trainable.Select(p => HostTensor.Zeros(Shape(p))).ToArray();
        _params = _split.Trainable.Select(p => HostTensor.Zeros(Shape(p))).ToArray();
        _widths = _metrics.Select(m => Shape(_split.Gradients.Train.Output(TrainStep.MetricPrefix + m.Name))
            .Aggregate(1, (a, d) => a * d)).ToArray();
        _stats = new double[1 + _widths.Sum()];
    }

    /// <summary>The communicator of the job.</summary>
    public ICommunicator Communicator => _comm;

    /// <summary>This rank's share of the next batch of <paramref name="globalRows"/> rows: <paramref name="rows"/>
    /// rows from row <paramref name="firstRow"/> of the batch (0 rows: the rank only takes part in the sums).
    /// </summary>
    public void Share(int firstRow, int rows, int globalRows)
    {
        (_firstRow, _rows, _globalRows) = (firstRow, rows, globalRows);
        _whole = _split.Collective && _comm.Size > 1 && rows == globalRows;
        _grads.SkipRows(firstRow);
        _grads.UseRanks(_split.Collective && !_whole ? _ranks : null);
    }

    /// <summary>This rank's rows of a batch of <paramref name="size"/> rows (<see cref="ShareOf(int, int, int)"/>);
    /// the whole batch when the step sums across ranks and some rank would have no rows.</summary>
    public (int First, int Count) ShareOf(int size) =>
        _split.Collective && size < _comm.Size ? (0, size) : ShareOf(size, _comm.Rank, _comm.Size);

    /// <summary>The share's weight in the sums over the ranks: its fraction of the batch; a whole batch run by every
    /// rank counts once (rank 0's).</summary>
    private double Weight => _whole ? (_comm.Rank == 0 ? 1 : 0) : (double)_rows / _globalRows;

    /// <summary>The rows of a batch of <paramref name="size"/> rows that rank <paramref name="rank"/> of
    /// <paramref name="ranks"/> takes: rows [size·rank/ranks, size·(rank+1)/ranks), in the batch's order.</summary>
    public static (int First, int Count) ShareOf(int size, int rank, int ranks)
    {
        int first = (int)((long)size * rank / ranks), next = (int)((long)size * (rank + 1) / ranks);
        return (first, next - first);
    }

    /// <inheritdoc />
    public void SkipRows(int rows) => _grads.SkipRows(rows);

    /// <inheritdoc />
    public BatchResult Step(IReadOnlyList<HostTensor> inputs, HostTensor? target, double lr, long step, ulong seed)
    {
        Array.Clear(_stats);
        var flat = _buckets.Flat;
        // a collective step weighed its objective by the share in the graph (DataParallelStep)
        float share = !_split.Collective || _whole ? (float)Weight : 1f;
        int next = 0, bucket = 0; // the next gradient (in the buckets' order) to read, the next bucket to sum
        // reads the gradients final after kernel k and starts every bucket they complete
        void Ready(int k, bool running)
        {
            var order = _buckets.Order;
            for (; next < order.Length && _buckets.ReadyAfter[next] <= k; next++)
            {
                int i = order[next];
                var g = flat.AsSpan(_buckets.Offsets[i], _buckets.Sizes[i]);
                if (running) ((IGradientStream)_grads).ReadOutput(_gradOutputs[i], g);
                else _grads.Read(_gradStates[i], g);
                if (share != 1f) for (int e = 0; e < g.Length; e++) g[e] *= share; // 1: weighed in the graph
            }
            for (; bucket < _buckets.Count && _buckets.Ends[bucket] <= next; bucket++)
            {
                var (start, count) = _buckets.Range(bucket);
                if (_async is not null) _async.StartAllreduceSum(flat, start, count);
                else _comm.AllreduceSum(flat.AsSpan(start, count));
            }
            if (bucket > 0) _async?.Progress();
        }
        if (_rows > 0)
        {
            BatchResult r;
            if (_async is not null && _grads is IGradientStream stream)
                r = stream.Step(inputs, target, lr, step, seed, k => Ready(k, true));
            else
            {
                r = _grads.Step(inputs, target, lr, step, seed);
                Ready(int.MaxValue, false);
            }
            Weigh(r);
        }
        else
        {
            Array.Clear(flat);
            next = _buckets.Order.Length;
            Ready(int.MaxValue, false);
        }
        _async?.WaitAll();
        _comm.AllreduceSum(_stats);
        for (int i = 0; i < _fed.Length; i++)
            flat.AsSpan(_buckets.Offsets[i], _buckets.Sizes[i]).CopyTo(_fed[i].Data);
        _update.Step(_fed, null, lr, step, seed);
        for (int i = 0; i < _params.Length; i++)
        {
            _update.Read(_trainable[i], _params[i].Data);
            _grads.Assign(_trainable[i], _params[i]);
        }
        return Result();
    }

    /// <summary>The number of sums of gradients a step makes (<see cref="GradientBuckets"/>).</summary>
    public int Buckets => _buckets.Count;

    /// <summary>Ends the communication thread (the communicator stays open). Optional: the thread is a background
    /// thread that waits without spinning (not IDisposable, so that F# callers need no `new`).</summary>
    public void Close() => _thread?.Dispose();

    /// <summary>The share's loss and statistics, weighed by its fraction of the batch, into the buffer summed over
    /// the ranks.</summary>
    private void Weigh(BatchResult r)
    {
        double w = Weight;
        _stats[0] = r.Loss * w;
        int k = 1;
        foreach (var s in r.Statistics)
            foreach (var x in s) _stats[k++] = x * w;
    }

    private BatchResult Result()
    {
        var stats = new double[_metrics.Count][];
        int k = 1;
        for (int i = 0; i < stats.Length; i++)
        {
            stats[i] = _stats.AsSpan(k, _widths[i]).ToArray();
            k += stats[i].Length;
        }
        return BatchResult.Of(_stats[0], _metrics, stats);
    }

    /// <inheritdoc />
    public BatchResult Evaluate(IReadOnlyList<HostTensor> inputs, HostTensor? target)
    {
        Array.Clear(_stats);
        if (_rows > 0) Weigh(_grads.Evaluate(inputs, target));
        _comm.AllreduceSum(_stats);
        return Result();
    }

    /// <inheritdoc />
    public HostTensor Predict(IReadOnlyList<HostTensor> inputs) => _grads.Predict(inputs);

    /// <inheritdoc />
    public void Prepare(IReadOnlyList<HostTensor> inputs, HostTensor? target, bool training)
    {
        if (inputs.Count > 0 && inputs[0].Rows == 0) return;
        _grads.Prepare(inputs, target, training);
        if (training) _update.Prepare(_fed, null, true);
    }

    /// <inheritdoc />
    public void Load(IReadOnlyDictionary<string, HostTensor> values)
    {
        var grads = _split.Gradients.Params.Concat(_split.Gradients.States).Select(n => n.Name!).ToHashSet();
        var update = _split.Update.Params.Concat(_split.Update.States).Select(n => n.Name!).ToHashSet();
        foreach (var name in values.Keys)
            if (!grads.Contains(name) && !update.Contains(name))
                throw new ArgumentException($"the network has no parameter or state `{name}`");
        _grads.Load(values.Where(kv => grads.Contains(kv.Key)).ToDictionary());
        _update.Load(values.Where(kv => update.Contains(kv.Key)).ToDictionary());
    }

    /// <inheritdoc />
    public Dictionary<string, HostTensor> Snapshot()
    {
        var all = _grads.Snapshot();
        foreach (var name in all.Keys.Where(k => k.StartsWith(DataParallelStep.GradPrefix, StringComparison.Ordinal))
                     .ToArray())
            all.Remove(name);
        foreach (var (name, v) in _update.Snapshot()) all[name] = v;
        return all;
    }

    /// <summary>Compares a checksum of every weight and state across the ranks.</summary>
    /// <exception cref="DataParallelException">NN0800 when they differ</exception>
    public void CheckSameWeights(int epoch)
    {
        ulong hash = 14695981039346656037UL; // FNV-1a over the names and the values' bits
        foreach (var (name, v) in Snapshot().OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            foreach (char c in name) hash = (hash ^ c) * 1099511628211UL;
            foreach (float x in v.Data) hash = (hash ^ BitConverter.SingleToUInt32Bits(x)) * 1099511628211UL;
        }
        var sums = new double[_comm.Size];
        sums[_comm.Rank] = hash >> 12; // 52 bits: exact in a double
        _comm.AllreduceSum(sums);
        if (sums.Any(s => s != sums[0]))
            throw new DataParallelException(DataParallelException.WeightsDiffer,
                $"after epoch {epoch + 1} the weights of the {_comm.Size} ranks differ (checksums "
                + string.Join(", ", sums.Select((s, r) => $"rank {r}: {(ulong)s:x13}"))
                + "); the ranks must run the same program, data, settings and nn version");
    }
}
