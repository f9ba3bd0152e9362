using System.Diagnostics;
using Nn.Runtime.Data;
using Nn.Runtime.IR;
using Nn.Runtime.Kernels;
using Nn.Runtime.Util;

namespace Nn.Runtime.Training;

/// <summary>How the host loop runs: the parts of a <c>train</c> block that do not shape the step graph.</summary>
internal sealed record TrainOptions
{
    /// <summary>Passes over the training data.</summary>
    public int Epochs { get; init; } = 10;
    /// <summary>Rows per mini-batch; the last batch of an epoch may be smaller (it is trained on, not
    /// dropped).</summary>
    public int Batch { get; init; } = 32;
    /// <summary>Visit the training rows in a new random order every epoch.</summary>
    public bool Shuffle { get; init; } = true;
    /// <summary>The seed of everything random: initial values, shuffling, dropout masks.</summary>
    public ulong Seed { get; init; }
    /// <summary>The learning-rate schedule (the base rate is the optimizer's).</summary>
    public ScheduleSpec Schedule { get; init; } = ScheduleSpec.Constant;
    /// <summary>The divergence guard: training stops (NN0620, <see cref="TrainingDivergedException"/>) when a batch's
    /// loss exceeds <c>Divergence</c> times the reference loss, the first batch's loss of this
    /// <see cref="Trainer.Fit"/> call (at least 1, so losses near 0 do not make it fire early). 0 turns the guard off;
    /// NaN and infinity always stop.</summary>
    public double Divergence { get; init; } = DefaultDivergence;
    /// <summary>The default of <see cref="Divergence"/>: a million times the first batch's loss.</summary>
    public const double DefaultDivergence = 1e6;
    /// <summary>Early stopping, or null to run every epoch.</summary>
    public EarlyStoppingSpec? Stop { get; init; }
    /// <summary>Called after every epoch with its report (the CLI prints progress from it).</summary>
    public Action<EpochReport>? OnEpoch { get; init; }
    /// <summary>Called after every epoch with the full state to save (the CLI writes it with the checkpoint
    /// writer).</summary>
    public Action<TrainingState>? OnCheckpoint { get; init; }
    /// <summary>True when <see cref="OnCheckpoint"/> keeps no state past the next call: the trainer then writes
    /// each epoch's values into the tensors of the state it passed the epoch before
    /// (<see cref="IStepExecutor.SnapshotInto"/>) instead of allocating new ones. The CLI keeps one pending state,
    /// written at most twice a second and when training ends (issue #18: a new snapshot of 784-256-10's weights and
    /// velocities every epoch, 1.6 MB from the large-object heap, took 0.1–1.2 ms, with a full collection every
    /// other epoch). A run that stops in an epoch (divergence) still holds the last completed epoch's values: they
    /// are overwritten only at the end of the next one.</summary>
    public bool ReuseCheckpointValues { get; init; }
    /// <summary>With <see cref="ReuseCheckpointValues"/>: a tensor for every value the executor holds (its name and
    /// shape), free for the trainer to overwrite, which the first checkpoint's values are written into instead of new
    /// ones. The CLI passes the initial values the executor was loaded from (issue #18: 1.6 MB of new pages for
    /// 784-256-10's weights and velocities, ~400 page faults after the first epoch, 12–23 µs each on this kind of
    /// virtual machine). Null: the first checkpoint's tensors are new.</summary>
    public Dictionary<string, HostTensor>? CheckpointInto { get; set; }
}

/// <summary>One epoch's results (<see cref="EpochReport.Epoch"/> counts from 0). Losses are averages over the epoch's
/// rows (each batch weighted by its size) and metrics are computed on all of the epoch's rows
/// (<see cref="EpochTotals"/>); the training values are measured on each batch before its
/// update, as Keras reports them. Validation values are null without validation data.</summary>
internal sealed record EpochReport(
    int Epoch, double TrainLoss, IReadOnlyDictionary<string, double> Metrics,
    double? ValidationLoss, IReadOnlyDictionary<string, double>? ValidationMetrics,
    double SamplesPerSec, double LearningRate)
{
    /// <summary>Wall-clock seconds of the epoch itself: its shuffle, steps and validation. Nothing before its first
    /// step (compiling, loading data, restoring a checkpoint) nor between epochs (the callbacks: progress output,
    /// checkpoint writes) is counted.</summary>
    public double Seconds { get; init; }
}

/// <summary>Everything needed to continue a run exactly: Param and State values (weights, optimizer moments,
/// running statistics), epochs completed, steps taken, the shuffling generator, and the schedule's and early
/// stopping's learned state (with the best weights so far when restoring them).</summary>
internal sealed record TrainingState(
    int EpochsDone, long Steps, Dictionary<string, HostTensor> Values, ulong[] ShuffleRng,
    double[] Schedule, double[]? Stopping, Dictionary<string, HostTensor>? BestValues);

/// <summary>The outcome of <see cref="Trainer.Fit"/>.</summary>
internal sealed record TrainResult(IReadOnlyList<EpochReport> History, bool StoppedEarly, int? BestEpoch, long Steps)
{
    /// <summary>The epoch (from 0) whose weights early stopping put back at the end, or null when the weights are
    /// the last epoch's. <see cref="TrainOptions.OnCheckpoint"/> still received the last epoch's full state.</summary>
    public int? RestoredEpoch { get; init; }
}

/// <summary>Training diverged: NN0612 when a step produced NaN or infinity (naming the first non-finite node's op and
/// span), NN0620 when the loss stayed finite but exceeded <see cref="TrainOptions.Divergence"/> times the reference
/// loss (naming the loss node). Both name the step and the epoch and end with the same hint.</summary>
internal sealed class TrainingDivergedException : ExecutionException
{
    private const string Hint =
        "try a smaller learning rate, gradient clipping (`clip = norm 1.0`) or standardized inputs";

    /// <summary>A step produced NaN or infinity (NN0612).</summary>
    public TrainingDivergedException(long step, int epoch, int batch, NonFiniteException cause)
        : base(RuntimeCodes.NonFinite, $"{Where(step, epoch, batch)}: `{cause.Op}` produced {cause.What}; {Hint}",
            cause.Node)
    {
        Step = step; Epoch = epoch; Batch = batch;
    }

    /// <summary>The loss <paramref name="loss"/> (the value of <paramref name="lossNode"/>, the loss
    /// <paramref name="lossName"/>) exceeded <paramref name="divergence"/> times the first batch's loss
    /// <paramref name="first"/> (taken as at least 1) (NN0620).</summary>
    public TrainingDivergedException(long step, int epoch, int batch, Node lossNode, string lossName, double loss,
        double divergence, double first)
        : base(RuntimeCodes.LossExploded,
            $"{Where(step, epoch, batch)}: the loss (`{lossName}`) reached {Number(loss)}, above the limit " +
            $"{Number(divergence * Math.Max(Math.Abs(first), 1))} = `divergence` ({Number(divergence)}) × " +
            $"max(1, the first batch's loss " +
            $"{Number(first)}); {Hint} (or raise `divergence`; 0 turns this check off)", lossNode)
    {
        Step = step; Epoch = epoch; Batch = batch;
    }

    private static string Where(long step, int epoch, int batch) =>
        $"training diverged at step {step} (epoch {epoch + 1}, batch {batch + 1})";
    private static string Number(double x) =>
        x.ToString(Math.Abs(x) is >= 1e4 or (< 1e-3 and > 0) ? "0.###e+0" : "0.####",
            System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The 1-based global step.</summary>
    public long Step { get; }
    /// <summary>The 0-based epoch.</summary>
    public int Epoch { get; }
    /// <summary>The 0-based batch within the epoch.</summary>
    public int Batch { get; }
}

/// <summary>
/// The host training loop over an <see cref="IStepExecutor"/>: epochs, per-epoch shuffling, mini-batches, the
/// schedule, validation, early stopping, progress events, checkpoint hooks and the NaN/Inf guard.
/// Deterministic: the same graphs, data, options and seed give bit-identical weights (the shuffling stream is
/// <c>Rng.Derive(seed, 1)</c>, the dropout seed <c>Rng.Derive(seed, 2)</c>'s first word, initial values
/// <see cref="Initializers"/>).
/// </summary>
internal static class Trainer
{
    /// <summary>Trains. With <paramref name="resume"/> continues from a captured state (the options must be the
    /// same).</summary>
    /// <exception cref="TrainingDivergedException">NN0612 when a step produces NaN or infinity, NN0620 when a batch's
    /// loss exceeds <see cref="TrainOptions.Divergence"/> times the first batch's</exception>
    /// <exception cref="ArgumentException">for bad options (a non-positive batch, an unknown monitor or
    /// schedule)</exception>
    public static TrainResult Fit(StepGraphs graphs, IStepExecutor exec, Dataset train, Dataset? validation,
        TrainOptions options, TrainingState? resume = null)
    {
        if (options.Batch <= 0)
            throw new ArgumentException($"`batch` must be a positive number of rows, got {options.Batch}");
        if (!(options.Divergence == 0 || options.Divergence >= 1) || double.IsInfinity(options.Divergence))
            throw new ArgumentException(
                $"`divergence` must be 0 (off) or a factor of at least 1, got {options.Divergence}");
        if (options.Epochs < 0) throw new ArgumentException($"`epochs` must not be negative, got {options.Epochs}");
        if (train.Count == 0) throw new ArgumentException("there are no training rows");
        if (validation is { Count: 0 }) validation = null;
        int batches = (train.Count + options.Batch - 1) / options.Batch;
        var schedule = Schedule.Create(options.Schedule, graphs.Spec.Optimizer.EffectiveLr, options.Epochs, batches);
        var stop = options.Stop is { } s ? new EarlyStopping(s) : null;
        if (stop?.Spec.Monitor.Metric is { } watched && !graphs.Metrics.Contains(watched.Name))
            throw new ArgumentException(
                $"early stopping monitors `{stop.Spec.Monitor}`, which needs `metrics = [{watched.Name}]`");
        if (options.Schedule.Kind.WatchesEpochs && options.Schedule.Monitor.Metric is { } plateau
            && !graphs.Metrics.Contains(plateau.Name))
            throw new ArgumentException(
                $"{options.Schedule.Kind} monitors `{options.Schedule.Monitor}`, "
                + $"which needs `metrics = [{plateau.Name}]`");
        var shuffle = Rng.Derive(options.Seed, 1);
        ulong dropoutSeed = Rng.Derive(options.Seed, 2).NextUInt64();
        long steps = 0;
        int first = 0;
        double firstLoss = double.NaN; // the divergence guard's reference: the first batch's loss (taken as at least 1)
        Dictionary<string, HostTensor>? best = null;
        if (resume is not null)
        {
            exec.Load(resume.Values);
            shuffle = new Rng(resume.ShuffleRng);
            schedule.Restore(resume.Schedule);
            if (stop is not null && resume.Stopping is { } st) stop.Restore(st);
            best = resume.BestValues;
            steps = resume.Steps;
            first = resume.EpochsDone;
        }

        // data parallelism: this rank takes its share of every batch (IBatchShare.ShareOf), the executor sums
        // over the ranks, so losses and metrics below are the whole batch's on every rank
        var dp = exec as IBatchShare;
        int Share(int size) => dp is null ? size : dp.ShareOf(size).Count;
        int First(int size) => dp is null ? 0 : dp.ShareOf(size).First;
        var history = new List<EpochReport>();
        bool stoppedEarly = false;
        // the values last passed to OnCheckpoint (the first are written into CheckpointInto, when given)
        Dictionary<string, HostTensor>? checkpointed = options.ReuseCheckpointValues ? options.CheckpointInto : null;
        // Batch buffers are allocated once (one set for full batches, one for a last partial batch) and filled
        // by copying rows, so steady-state steps allocate nothing here.
        var batchX = train.Inputs.Select(x => new BatchBuffers(x, options.Batch, train.Count, Share)).ToArray();
        var x = new HostTensor[batchX.Length]; // the batch of each input, refilled in place
        HostTensor[] Fill(int[] order, int start, int count)
        {
            for (int i = 0; i < x.Length; i++) x[i] = batchX[i].Fill(train.Inputs[i], order, start, count);
            return x;
        }
        var batchY = train.Targets is null ? null
            : new BatchBuffers(train.Targets, options.Batch, train.Count, Share);
        // the same for the validation batches (copying each into a new tensor allocated 6 MB an epoch for MNIST)
        var valX = validation?.Inputs.Select(v => new BatchBuffers(v, options.Batch, validation.Count, Share))
            .ToArray();
        var vx = new HostTensor[valX?.Length ?? 0]; // the validation batch of each input, refilled in place
        HostTensor[] FillVal(int start, int count)
        {
            for (int i = 0; i < vx.Length; i++) vx[i] = valX![i].Fill(validation!.Inputs[i], start, count);
            return vx;
        }
        var valY = validation?.Targets is null ? null
            : new BatchBuffers(validation.Targets, options.Batch, validation.Count, Share);
        // the one-time work of every batch shape to come, before any epoch's clock (EpochReport.Seconds)
        if (first < options.Epochs)
        {
            var all = Enumerable.Range(0, train.Count).ToArray();
            foreach (int size in new[] { options.Batch, train.Count % options.Batch }
                .Where(n => n > 0 && n <= train.Count).Distinct())
                exec.Prepare(Fill(all, 0, Share(size)), batchY?.Fill(train.Targets!, all, 0, Share(size)), true);
            if (validation is not null)
                foreach (int size in new[] { options.Batch, validation.Count % options.Batch }
                    .Where(n => n > 0 && n <= validation.Count).Distinct())
                    exec.Prepare(FillVal(0, Share(size)),
                        valY?.Fill(validation.Targets!, 0, Share(size)), false);
        }
        for (int epoch = first; epoch < options.Epochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            var order = options.Shuffle
                ? Dataset.Permutation(train.Count, shuffle)
                : Enumerable.Range(0, train.Count).ToArray();
            var clock = Stopwatch.StartNew();
            var sums = new EpochTotals(graphs.Spec.Metrics);
            double lr = 0;
            for (int bi = 0; bi < batches; bi++)
            {
                int start = bi * options.Batch, size = Math.Min(options.Batch, train.Count - start);
                dp?.Share(First(size), Share(size), size);
                Fill(order, start + First(size), Share(size));
                var y = batchY?.Fill(train.Targets!, order, start + First(size), Share(size));
                lr = schedule.LearningRate(epoch, bi);
                steps++;
                BatchResult r;
                try { r = exec.Step(x, y, lr, steps, dropoutSeed); }
                catch (NonFiniteException e) { throw new TrainingDivergedException(steps, epoch, bi, e); }
                if (!double.IsFinite(r.Loss))
                    throw new TrainingDivergedException(steps, epoch, bi,
                        new NonFiniteException(graphs.Train.Output("loss"),
                            double.IsNaN(r.Loss) ? "NaN" : "infinity", 0));
                if (double.IsNaN(firstLoss)) firstLoss = r.Loss;
                if (options.Divergence > 0 && r.Loss > options.Divergence * Math.Max(Math.Abs(firstLoss), 1.0))
                    throw new TrainingDivergedException(steps, epoch, bi, graphs.Train.Output("loss"),
                        graphs.Spec.Loss.Name, r.Loss, options.Divergence, firstLoss);
                sums.Add(r, size);
            }
            double seconds = clock.Elapsed.TotalSeconds;
            (double? vloss, double[]? vmetrics) = (null, null);
            if (validation is not null)
            {
                var vs = new EpochTotals(graphs.Spec.Metrics);
                for (int start = 0; start < validation.Count; start += options.Batch)
                {
                    int size = Math.Min(options.Batch, validation.Count - start), from = start + First(size);
                    dp?.Share(First(size), Share(size), size);
                    vs.Add(exec.Evaluate(FillVal(from, Share(size)),
                        valY?.Fill(validation.Targets!, from, Share(size))), size);
                }
                (vloss, vmetrics) = (vs.Loss, vs.Metrics);
            }
            var report = new EpochReport(epoch, sums.Loss, Named(graphs, sums.Metrics), vloss,
                vmetrics is null ? null : Named(graphs, vmetrics), train.Count / Math.Max(seconds, 1e-9), lr)
            { Seconds = epochClock.Elapsed.TotalSeconds };
            history.Add(report);
            dp?.CheckSameWeights(epoch);
            schedule.EpochEnded(options.Schedule.Monitor.ValueIn(report));
            if (stop is not null && stop.Observe(epoch, stop.Spec.Monitor.ValueIn(report)) && stop.Spec.RestoreBest)
                best = exec.Snapshot();
            options.OnEpoch?.Invoke(report);
            if (options.OnCheckpoint is { } onCheckpoint)
            {
                checkpointed = options.ReuseCheckpointValues && checkpointed is not null
                    ? exec.SnapshotInto(checkpointed)
                    : exec.Snapshot();
                onCheckpoint(new TrainingState(epoch + 1, steps, checkpointed, shuffle.State, schedule.State,
                    stop?.State, best));
            }
            if (stop is { ShouldStop: true }) { stoppedEarly = true; break; }
        }
        int? restored = null;
        if (stop is not null && best is not null && history.Count > 0 && stop.BestEpoch != history[^1].Epoch)
        {
            exec.Load(best);
            restored = stop.BestEpoch;
        }
        return new TrainResult(history, stoppedEarly, stop?.BestEpoch is >= 0 ? stop.BestEpoch : null, steps)
            { RestoredEpoch = restored };
    }

    private static Dictionary<string, double> Named(StepGraphs g, double[] values) =>
        g.Metrics.Select((m, i) => (m, i)).ToDictionary(p => p.m, p => values[p.i]);

    /// <summary>Preallocated tensors for a full batch and for the last, partial batch of an epoch; of this rank's
    /// <paramref name="share"/> of them in a data-parallel job.</summary>
    private sealed class BatchBuffers(HostTensor source, int batch, int rows, Func<int, int> share)
    {
        private readonly HostTensor _full = Make(source, share(Math.Min(batch, rows)));
        private readonly HostTensor? _last =
            rows % batch == 0 || rows < batch ? null : Make(source, share(rows % batch));

        private static HostTensor Make(HostTensor source, int n)
        {
            var shape = (int[])source.Shape.Clone();
            shape[0] = n;
            return HostTensor.Zeros(shape);
        }

        private readonly RowCopy _copy = new();

        /// <summary>Rows order[start] .. order[start + count - 1] of <paramref name="source"/>.</summary>
        public HostTensor Fill(HostTensor source, int[] order, int start, int count)
        {
            var dst = count == _full.Rows ? _full : _last!;
            _copy.Run(source, dst, order, start, count);
            return dst;
        }

        /// <summary>Rows <paramref name="start"/> .. start+count-1 of <paramref name="source"/>, in order.</summary>
        public HostTensor Fill(HostTensor source, int start, int count)
        {
            var dst = count == _full.Rows ? _full : _last!;
            int width = source.RowSize;
            source.CopyElements(start * width, dst.Data.AsSpan(0, count * width));
            return dst;
        }
    }

    /// <summary>Copies rows of the data into a batch, split between two of the kernels' threads when the batch is
    /// large (issue #18: on one thread, the 64 rows of MNIST digits, 200 kB from all over the data, took ~17 µs of
    /// every step of 784-256-10, a tenth of a two-thread step, while the other thread waited). One thread with
    /// <c>--threads 1</c>.</summary>
    private sealed class RowCopy : IParallelWork
    {
        private const long ParallelFloats = 16 * 1024; // from 64 kB a batch
        private HostTensor? _src;
        private float[] _dst = [];
        private int[] _order = [];
        private int _start, _count, _width;

        public void Run(HostTensor source, HostTensor dst, int[] order, int start, int count)
        {
            (_src, _dst, _order, _start, _count, _width) = (source, dst.Data, order, start, count, source.RowSize);
            if ((long)count * _width >= ParallelFloats) WorkerPool.Shared.Run(this, 2);
            else Execute(0, 1);
        }

        public void Execute(int index, int count)
        {
            int from = (int)((long)_count * index / count), to = (int)((long)_count * (index + 1) / count);
            for (int i = from; i < to; i++)
                _src!.CopyElements(_order[_start + i] * _width, _dst.AsSpan(i * _width, _width));
        }
    }
}
