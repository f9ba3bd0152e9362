using System.Runtime.ExceptionServices;

namespace Nn.Runtime.Kernels;

/// <summary>A piece of work split into <c>count</c> parts, run by <see cref="WorkerPool.Run"/>.</summary>
internal interface IParallelWork
{
    /// <summary>Runs part <paramref name="index"/> of <paramref name="count"/> (0 ≤ index &lt; count).</summary>
    void Execute(int index, int count);
}

/// <summary>
/// A small persistent pool of worker threads for the kernels. <see cref="Run"/> runs part 0 on the calling
/// thread and the other parts on parked workers, so a call allocates nothing and creates no thread.
/// Calls are serialised (one job at a time, never more threads than <see cref="MaxThreads"/>), and a call
/// made from inside a running part runs all its parts on the current thread instead of oversubscribing.
/// </summary>
internal sealed class WorkerPool
{
    /// <summary>The process-wide pool, sized to the machine's processor count.</summary>
    public static WorkerPool Shared { get; } = new(Environment.ProcessorCount);

    [ThreadStatic] private static bool t_insidePart;

    /// <summary>True on a thread running a part: a <see cref="Run"/> from here runs its parts
    /// in turn, not at once.</summary>
    internal static bool InsidePart => t_insidePart;

    private readonly object _gate = new();
    private readonly Worker[] _workers;
    private readonly ManualResetEventSlim _done = new(false, spinCount: 2000);
    private int _maxThreads;
    private int _pending;
    private IParallelWork? _work;
    private int _count;
    private ExceptionDispatchInfo? _failure;

    /// <summary>A pool that can run up to <paramref name="maxThreads"/> parts at once (the
    /// caller is one of them).</summary>
    public WorkerPool(int maxThreads)
    {
        if (maxThreads < 1) KernelThrow.Argument(nameof(maxThreads), "a pool needs at least one thread");
        _maxThreads = maxThreads;
        _workers = new Worker[maxThreads - 1];
        for (int i = 0; i < _workers.Length; i++) _workers[i] = new Worker(this, i + 1);
    }

    /// <summary>The number of threads a job may use (1 ..the size given at construction); settable.</summary>
    public int MaxThreads
    {
        get => _maxThreads;
        set => _maxThreads = Math.Clamp(value, 1, _workers.Length + 1);
    }

    /// <summary>
    /// Runs <c>work.Execute(i, n)</c> for i in 0..n-1 with n = min(<paramref name="count"/>, <see cref="MaxThreads"/>),
    /// part 0 on the calling thread, and returns when every part has finished. An exception from any part is
    /// rethrown here (after all parts have finished).
    /// </summary>
    public void Run(IParallelWork work, int count)
    {
        int n = Math.Min(count, _maxThreads);
        if (n <= 1 || t_insidePart)
        {
            for (int i = 0; i < Math.Max(n, 1); i++) work.Execute(i, Math.Max(n, 1));
            return;
        }
        lock (_gate)
        {
            _work = work;
            _count = n;
            _failure = null;
            _done.Reset();
            Volatile.Write(ref _pending, n - 1);
            for (int i = 1; i < n; i++) _workers[i - 1].Start();
            t_insidePart = true;
            try { work.Execute(0, n); }
            catch (Exception e) { _failure ??= ExceptionDispatchInfo.Capture(e); }
            finally { t_insidePart = false; }
            _done.Wait();
            _work = null;
            _failure?.Throw();
        }
    }

    private void RunPart(int index)
    {
        t_insidePart = true;
        try { _work!.Execute(index, _count); }
        catch (Exception e) { lock (_workers) _failure ??= ExceptionDispatchInfo.Capture(e); }
        finally { t_insidePart = false; }
        if (Interlocked.Decrement(ref _pending) == 0) _done.Set();
    }

    private sealed class Worker
    {
        private readonly ManualResetEventSlim _go = new(false, spinCount: 2000);

        public Worker(WorkerPool pool, int index)
        {
            var thread = new Thread(() =>
            {
                while (true)
                {
                    _go.Wait();
                    _go.Reset();
                    pool.RunPart(index);
                }
            })
            { IsBackground = true, Name = $"nn-kernel-worker-{index}" };
            thread.Start();
        }

        public void Start() => _go.Set();
    }
}
