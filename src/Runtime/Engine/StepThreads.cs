using System.Diagnostics;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.Engine;

/// <summary>
/// Chooses, for one bound program (a training step, an evaluation of one batch size), between running its kernels'
/// splits on the pool's threads and on the calling thread alone, by timing both on this machine as it is now: a
/// probe runs <see cref="ProbeSteps"/> steps each way, in two blocks (the pool's threads first), each after one
/// untimed step, and keeps the faster by the median;
/// the choice then holds for a number of steps (<see cref="FirstHold"/>, four times longer each time a probe
/// confirms it, at most <see cref="MaxHold"/>; back to the first hold when a probe changes it) before the next
/// probe. The same program every step, so the two sides time the same work. On an idle machine two threads win and a
/// probe costs a few one-thread steps (the <c>mlp</c> job of 1,250 steps probes 3 times: 12 steps on one
/// thread); on a machine with more ready threads than cores a second thread that waits for a core makes every split
/// wait for it (at a load average of 10–30 on 2 cores the 784-256-10 step took 0.74 ms on 2 threads against 0.27 ms
/// on 1, <c>bench threads --kernels</c>: about 70 µs a hand-off), and the step runs on one thread until the next
/// probe. OpenMP's dynamic adjustment of the thread count (<c>OMP_DYNAMIC</c>) has the same purpose. Results are the
/// same bits either way (every split sums in the order of one thread). Blocks, not alternation (A B A B, until the
/// eighth #18 session): a split step right after a one-thread step found the worker asleep and paid its wake-up,
/// which back-to-back split steps do not (the idle <c>mlp</c> job was locked on one thread that way, bench/README.md);
/// the untimed first step of each block pays it.
/// </summary>
internal sealed class StepThreads
{
    /// <summary>Steps timed on each side of a probe.</summary>
    public const int ProbeSteps = 4;
    /// <summary>Steps a choice holds after a probe that changed it.</summary>
    public const int FirstHold = 64;
    /// <summary>The longest hold.</summary>
    public const int MaxHold = 16384;

    private readonly double[] _solo = new double[ProbeSteps], _split = new double[ProbeSteps];
    // The first FirstHold steps run on the threads, untimed: probing the very first steps (fresh pages, cold caches,
    // a worker not yet started) chose one thread for the idle `mlp` job's first 64 steps (its first epoch ~8 ms
    // slower than with the threads fixed, bench/README.md, eighth #18 session).
    private int _probed = 0, _held, _hold = FirstHold;
    private bool _holdSolo, _probing;

    /// <summary>True binds a chooser on this thread whatever <see cref="WorkerPool.Adaptive"/> says (tests).</summary>
    [ThreadStatic] internal static bool Always;

    /// <summary>Probes in this process, and how many chose one thread (benchmarks; not synchronised).</summary>
    internal static int AllProbes, AllSoloChoices;

    /// <summary>How many probes chose one thread (benchmarks, tests).</summary>
    public int SoloChoices { get; private set; }
    /// <summary>How many probes have finished.</summary>
    public int Probes { get; private set; }

    /// <summary>Steps in a probe: each side's block and the untimed step before it.</summary>
    public const int ProbeLength = 2 * (ProbeSteps + 1);

    /// <summary>Whether the next step runs on the calling thread alone.</summary>
    public bool NextSolo => _probing ? _probed > ProbeSteps : _holdSolo;

    /// <summary>Whether the next step is a probe's untimed first step of a side.</summary>
    public bool NextUntimed => _probing && (_probed == 0 || _probed == ProbeSteps + 1);

    /// <summary>Records the time of the step <see cref="NextSolo"/> described.</summary>
    public void Record(double seconds)
    {
        if (!_probing)
        {
            if (++_held >= _hold) { _probing = true; _probed = 0; }
            return;
        }
        if (_probed > ProbeSteps + 1) _solo[_probed - ProbeSteps - 2] = seconds;
        else if (_probed > 0 && _probed <= ProbeSteps) _split[_probed - 1] = seconds;
        if (++_probed < ProbeLength) return;
        bool solo = Median(_solo) < Median(_split);
        _hold = Probes > 0 && solo == _holdSolo ? Math.Min(4 * _hold, MaxHold) : FirstHold;
        _holdSolo = solo;
        Probes++; AllProbes++;
        if (solo) { SoloChoices++; AllSoloChoices++; }
        _probing = false;
        _held = 0;
    }

    /// <summary>Runs one step (<paramref name="run"/>) on the side this chooser picks, timed.</summary>
    public void Run(Action run)
    {
        bool solo = NextSolo;
        long t0 = Stopwatch.GetTimestamp();
        WorkerPool.Solo = solo;
        try { run(); }
        finally { WorkerPool.Solo = false; }
        Record(Stopwatch.GetElapsedTime(t0).TotalSeconds);
    }

    /// <summary>The median, sorting <paramref name="v"/> in place (no allocation: a step allocates nothing).</summary>
    private static double Median(double[] v)
    {
        Array.Sort(v);
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
