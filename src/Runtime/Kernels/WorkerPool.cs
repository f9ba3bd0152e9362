using System.Diagnostics;
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
/// thread and the other parts on the workers, so a call allocates nothing and creates no thread; part i always runs
/// on the same thread (its data stays in that core's cache from one job to the next; a worker's thread starts with its
/// first job). Calls are serialised (one job at a time, never more threads than <see cref="MaxThreads"/>), and a call
/// made from inside a running part runs all its parts on the current thread instead of oversubscribing.
/// <para>Hand-offs spin: a worker that finished a part watches for the next job for <see cref="SpinMicroseconds"/>
/// before it blocks, and the caller watches for the parts to finish (yielding its core after a while), so the kernels
/// of one training step, a few microseconds apart, pass work back and forth without a system call, as OpenMP runtimes
/// do (GOMP_SPINCOUNT, KMP_BLOCKTIME). The spin is short: on a machine with more ready threads than cores, a worker
/// that spins (or yields in a loop) takes the core from the thread it waits for: at a load average of 40 a 2 ms spin
/// made the 784-256-10 step 3× slower, and even a 100 µs one 2.5× slower than blocking at once (CPU 1.1 against 0.43
/// ms a step). 50 µs covers the gaps inside a step and between steps on an idle machine, where blocking would pay a
/// wake-up (a futex and, in a VM, an interrupt to a halted core) at every kernel; not measured idle (bench threads
/// --ab=spin, --spin=N).</para>
/// <para>A thread can ask for its jobs to run on itself alone (<see cref="Solo"/>): how a training step measures
/// whether a second thread pays on this machine right now (<c>Engine.StepThreads</c>).</para>
/// </summary>
internal sealed class WorkerPool
{
    /// <summary>The process-wide pool, sized to the machine's processor count.</summary>
    public static WorkerPool Shared { get; } = new(Environment.ProcessorCount);

    [ThreadStatic] private static bool t_insidePart;
    [ThreadStatic] private static bool t_solo;

    /// <summary>True runs the jobs this thread starts on this thread alone, as one part (the same bits: every job gives
    /// the same result on any number of parts).</summary>
    internal static bool Solo { get => t_solo; set => t_solo = value; }

    /// <summary>Whether executors bound from now on choose, step by step, between one thread and
    /// <see cref="MaxThreads"/> by timing both (<c>Engine.StepThreads</c>); off by default, on in the <c>nn</c>
    /// command with <c>NN_THREADS_ADAPTIVE=1</c>.</summary>
    public bool Adaptive { get; set; }

    /// <summary>True on a thread running a part: a <see cref="Run"/> from here runs its parts
    /// in turn, not at once.</summary>
    internal static bool InsidePart => t_insidePart;

    private readonly object _gate = new();
    private readonly Worker[] _workers;
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

    /// <summary>How long a worker watches for the next job before it blocks (and the caller spins for the parts before
    /// it yields its core). 0 blocks at once: the hand-off of a blocking event, for A/B benchmarks.</summary>
    internal static int SpinMicroseconds = 50;

    /// <summary>How long a wait pauses between looks before it yields the core at each look instead.</summary>
    private const int PauseMicroseconds = 50;

    /// <summary>The pauses between two looks of a spinning wait (<see cref="Thread.SpinWait"/>'s iterations, ~35 ns
    /// each as .NET normalises them): one, so a hand-off is seen within tens of nanoseconds. Twenty (before) put
    /// ~0.7 µs between looks, on average ~0.35 µs of latency on each side of every hand-off, several hand-offs a
    /// step. Settable for A/B benchmarks.</summary>
    internal static int PausesPerLook = 1;

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
        if (t_solo)
        {
            work.Execute(0, 1);
            return;
        }
        lock (_gate)
        {
            _work = work;
            _count = n;
            _failure = null;
            Volatile.Write(ref _pending, n - 1);
            for (int i = 1; i < n; i++) _workers[i - 1].Start();
            t_insidePart = true;
            try { work.Execute(0, n); }
            catch (Exception e) { _failure ??= ExceptionDispatchInfo.Capture(e); }
            finally { t_insidePart = false; }
            WaitForParts();
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
        Interlocked.Decrement(ref _pending);
    }

    /// <summary>The caller's wait for the other parts: a pause between looks for up to <see cref="PauseMicroseconds"/>,
    /// then a yield of the core at each look (a part's thread may be waiting for this core on a busy machine).
    /// </summary>
    private void WaitForParts()
    {
        if (Volatile.Read(ref _pending) == 0) return;
        long start = Stopwatch.GetTimestamp(), pauseUntil = start + SpinTicks(PauseMicroseconds);
        while (Volatile.Read(ref _pending) != 0)
        {
            if (Stopwatch.GetTimestamp() < pauseUntil) Thread.SpinWait(PausesPerLook);
            else Thread.Yield();
        }
    }

    private static long SpinTicks(int microseconds) => Stopwatch.Frequency * microseconds / 1_000_000;

    /// <summary>One worker thread: job numbers it watches, an event it blocks on when there are none.</summary>
    private sealed class Worker
    {
        private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
        private readonly WorkerPool _pool;
        private readonly int _index;
        private Thread? _thread;
        private int _job, _asleep;

        /// <summary>A worker whose thread starts with its first job: a command that runs on one thread (`nn predict
        /// --threads 1`, `nn check`) creates none (~0.5 ms of the command's start, issue #18).</summary>
        public Worker(WorkerPool pool, int index)
        {
            _pool = pool;
            _index = index;
        }

        /// <summary>Hands this worker the pool's current job (called under the pool's lock: one thread starts it).
        /// </summary>
        public void Start()
        {
            if (_thread is null)
            {
                // the thread's first look is at job 0: it runs the job handed over below whichever comes first
                _thread = new Thread(Loop) { IsBackground = true, Name = $"nn-kernel-worker-{_index}" };
                _thread.Start();
            }
            Interlocked.Increment(ref _job);
            if (Volatile.Read(ref _asleep) != 0) _wake.Set();
        }

        private void Loop()
        {
            int done = 0;
            while (true)
            {
                Await(done);
                done = Volatile.Read(ref _job);
                _pool.RunPart(_index);
            }
        }

        /// <summary>Returns once a job after number <paramref name="done"/> was handed over: pauses between looks
        /// for <see cref="SpinMicroseconds"/>, then blocks. Blocking announces itself before its last look
        /// (<c>_asleep</c>, a full fence) and <see cref="Start"/> looks at the announcement after its hand-over (a
        /// full fence too), so one of the two sees the other: no lost wake-up.</summary>
        private void Await(int done)
        {
            long until = Stopwatch.GetTimestamp() + SpinTicks(SpinMicroseconds);
            while (Volatile.Read(ref _job) == done)
            {
                if (Stopwatch.GetTimestamp() < until) Thread.SpinWait(PausesPerLook);
                else
                {
                    _wake.Reset();
                    Interlocked.Exchange(ref _asleep, 1);
                    if (Volatile.Read(ref _job) == done) _wake.Wait();
                    Interlocked.Exchange(ref _asleep, 0);
                }
            }
        }
    }
}
