using System.Diagnostics;
using Nn.Runtime.Data;
using Nn.Runtime.Training;

namespace Nn.Bench;

/// <summary>
/// Two threads against one on the same training step (issue #18 goal 4), paired in one process: an executor bound for
/// 1 thread and one for 2, timed in alternation (A B A B ...), each turn a run of steps long enough to time (~0.1 s).
/// Prints, per case, the median step time of each, the median of the pairs' ratios (1-thread time / 2-thread time),
/// and the process CPU time per step of each (user + system over all threads: what the second thread costs, spinning
/// included). The load average is printed before and after: on a shared machine a neighbour's burst takes a core from
/// the 2-thread run at random, so only quiet runs (load below ~1) say anything about two threads. So is a cache line's
/// round trip between two threads (<see cref="RoundTrip"/>): where the host runs the two vCPUs sets the 2-thread
/// step's speed (the 784-256-10 step 1.74× at ~150 ns, 1.35–1.5× at ~450 ns, both idle).
/// <c>--pairs=N</c> (default 15), <c>--only=TEXT</c> as in <c>training</c>; <c>--kernels</c> adds each kernel's
/// tenth percentile on 1 and 2 threads; <c>--adaptive</c> runs the pool as the nn command does
/// (<see cref="Nn.Runtime.Engine.StepThreads"/>).
/// </summary>
internal static class ThreadsBench
{
    private static readonly (int[] Layers, int Batch)[] Cases =
    [
        ([784, 256, 10], 64), ([784, 1024, 1024, 1024, 10], 256),
    ];

    public static void Run(IReadOnlyList<string> flags)
    {
        int pairs = flags.FirstOrDefault(f => f.StartsWith("--pairs=")) is { } p
            && int.TryParse(p["--pairs=".Length..], out int n) && n > 0 ? n : 15;
        string only = flags.FirstOrDefault(f => f.StartsWith("--only="))?["--only=".Length..] ?? "";
        if (flags.FirstOrDefault(f => f.StartsWith("--spin=")) is { } sp)
            Nn.Runtime.Kernels.WorkerPool.SpinMicroseconds = Spin = int.Parse(sp["--spin=".Length..]);
        // --adaptive: the pool as the nn command runs it (a second thread only while it pays)
        Nn.Runtime.Kernels.WorkerPool.Shared.Adaptive = flags.Contains("--adaptive");
        Console.WriteLine($"load average before: {File.ReadAllText("/proc/loadavg").Trim()}; " +
                          $"a cache line's round trip between two threads: {RoundTrip.Nanoseconds():F0} ns");
        Console.WriteLine($"{"case",-34} {"1 thread",10} {"2 threads",10} {"ratio",7}  " +
                          $"{"CPU/step 1t",11} {"CPU/step 2t",11}  ratios (min..max)");
        foreach (var (layers, batch) in Cases)
        {
            string name = $"{string.Join("-", layers)} b{batch} sgd momentum";
            if (!name.Contains(only)) continue;
            var (one, x, y) = TrainingStepBench.Mlp(layers, batch, "sgd", 1);
            var (two, _, _) = TrainingStepBench.Mlp(layers, batch, "sgd", 2);
            long step = 1;
            // steps per turn: about 0.1 s on one thread
            int steps = Math.Max(5, (int)(0.1 / Timing.BestSeconds(() => one.Step(x, y, 0.01, step++, 1), 3, 0.1)));
            Timing.BestSeconds(() => two.Step(x, y, 0.01, step++, 1), 3, 0.1);
            var t1 = new List<double>(); var t2 = new List<double>();
            var c1 = new List<double>(); var c2 = new List<double>();
            var f1 = new List<double>(); var f2 = new List<double>();
            for (int i = 0; i < pairs; i++)
            {
                // A B, then B A: neither executor always runs right after the other
                if (i % 2 == 0)
                {
                    Turn(one, x, y, steps, ref step, t1, c1, f1); Turn(two, x, y, steps, ref step, t2, c2, f2);
                }
                else { Turn(two, x, y, steps, ref step, t2, c2, f2); Turn(one, x, y, steps, ref step, t1, c1, f1); }
            }
            if (flags.Contains("--kernels")) Kernels(name, one, two, x, y, ref step);
            if (flags.Contains("--gaps"))
                StepGaps.Run(name, (Nn.Runtime.Engine.FusedExecutor)one, (Nn.Runtime.Engine.FusedExecutor)two, x, y,
                    ref step, pairs);
            if (flags.FirstOrDefault(f => f.StartsWith("--ab=")) is { } ab)
                foreach (var change in ab["--ab=".Length..].Split(','))
                    AB(name, change, two, layers, x, y, steps, ref step, pairs);
            var ratios = t1.Zip(t2, (a, b) => a / b).ToList();
            Console.WriteLine($"{name,-34} {Ms(Median(t1)),10} {Ms(Median(t2)),10} {Median(ratios),6:F2}x  " +
                              $"{Ms(Median(c1)),11} {Ms(Median(c2)),11}  {ratios.Min():F2}..{ratios.Max():F2}");
            Console.WriteLine($"  {"fastest tenth of single steps",-32} {Ms(Median(f1)),10} {Ms(Median(f2)),10} " +
                              $"{Median(f1.Zip(f2, (a, b) => a / b).ToList()),6:F2}x");
        }
        int probes = Nn.Runtime.Engine.StepThreads.AllProbes, solo = Nn.Runtime.Engine.StepThreads.AllSoloChoices;
        Console.WriteLine($"load average after: {File.ReadAllText("/proc/loadavg").Trim()}; " +
                          $"round trip {RoundTrip.Nanoseconds():F0} ns; adaptive: " +
                          $"{solo} of {probes} probes chose one thread");
        Console.WriteLine($"(medians of {pairs} pairs, each turn a run of steps; times in ms per step)");
        // NN_TIMINGS=kernels: each step's kernels on 1 thread and on 2, side by side
        Console.Write(Nn.Runtime.Engine.KernelClock.SideBySide());
    }

    /// <summary>The 2-thread step with a change off (A) and on (B), paired: the change under test. Changes read at
    /// bind time get an executor of their own, bound with the change off.</summary>
    private static void AB(string name, string change, IStepExecutor two, int[] layers, HostTensor x, HostTensor y,
        int steps, ref long step, int pairs)
    {
        Set(change, true);
        var (off, _, _) = TrainingStepBench.Mlp(layers, x.Shape[0], "sgd", 2);
        off.Step(x, y, 0.01, step++, 1);
        Timing.BestSeconds(() => off.Step(x, y, 0.01, 1, 1), 3, 0.1);
        Set(change, false);
        List<double> a = [], b = [], ca = [], cb = [], fa = [], fb = [];
        for (int i = 0; i < pairs; i++)
        {
            Set(change, true);
            Turn(off, x, y, steps, ref step, a, ca, fa);
            Set(change, false);
            Turn(two, x, y, steps, ref step, b, cb, fb);
        }
        Console.WriteLine($"  A/B {change} {name} 2t: off {Ms(Median(a))} on {Ms(Median(b))}: " +
                          $"{Median(a.Zip(b, (p, q) => p / q).ToList()):F3}x; " +
                          $"CPU {Ms(Median(ca))} / {Ms(Median(cb))}; " +
                          $"fastest tenth {Ms(Median(fa))} / {Ms(Median(fb))}: " +
                          $"{Median(fa.Zip(fb, (p, q) => p / q).ToList()):F3}x");
    }

    /// <summary>Per kernel of the plan, the tenth percentile of its time over single steps on 1 and on 2 threads
    /// (<c>--kernels</c>): the steps a neighbour's burst did not reach, kernel by kernel.</summary>
    private static void Kernels(string name, IStepExecutor one, IStepExecutor two, HostTensor x, HostTensor y,
        ref long step)
    {
        var execs = new[] { (Nn.Runtime.Engine.FusedExecutor)one, (Nn.Runtime.Engine.FusedExecutor)two };
        int steps = x.Shape[0] > 100 ? 60 : 400, kernels = execs[0].TrainPlan.Kernels.Count;
        var times = new double[2][][];
        for (int e = 0; e < 2; e++)
        {
            times[e] = new double[kernels][];
            for (int k = 0; k < kernels; k++) times[e][k] = new double[steps];
        }
        for (int s = 0; s < steps; s++)
            for (int e = 0; e < 2; e++)
            {
                var t = execs[e].ProfileSteps(x, y, 0.01, step++, 1, 1);
                for (int k = 0; k < kernels; k++) times[e][k][s] = t[k];
            }
        Console.WriteLine($"  kernels of {name}, tenth percentile of {steps} single steps (µs), 1t / 2t:");
        double sum1 = 0, sum2 = 0;
        for (int k = 0; k < kernels; k++)
        {
            double a = Tenth(times[0][k]), b = Tenth(times[1][k]);
            sum1 += a; sum2 += b;
            if (a + b > 2e-6)
                Console.WriteLine(
                    $"    k{k,-3} {a * 1e6,8:F1} {b * 1e6,8:F1}  {execs[0].TrainPlan.Kernels[k].Describe()}");
        }
        Console.WriteLine($"    sum  {sum1 * 1e6,8:F1} {sum2 * 1e6,8:F1}");
    }

    private static double Tenth(double[] v)
    {
        var s = (double[])v.Clone();
        Array.Sort(s);
        return s[s.Length / 10];
    }

    /// <summary>The pool's spin as set (<c>--spin=MICROSECONDS</c> sets it for the whole run).</summary>
    private static int Spin = Nn.Runtime.Kernels.WorkerPool.SpinMicroseconds;

    /// <summary>Turns a change off (the state before it) or on: <c>weightcolumns</c>, <c>shareda</c>, <c>spin</c>
    /// (the pool's hand-offs), <c>small</c> (fused loops from 8,192 floats and narrow products on two threads),
    /// <c>pairs</c> (small independent kernels at once, one per thread), <c>ablocks</c> (packed A blocks shared only
    /// when large), <c>looks</c> (spinning waits look once a pause, not once every 20), <c>fifth</c> (the last three:
    /// the fifth #18 session's), <c>all</c> (the first four), <c>stream</c>, <c>align</c>, <c>bands</c> (a hidden
    /// layer's values in column bands, with their runs) or <c>chains</c> (the bands' kernels run as one job).</summary>
    private static void Set(string change, bool off)
    {
        if (change is "weightcolumns" or "all") Nn.Runtime.Kernels.GemmJob.WeightColumnsOff = off;
        if (change is "shareda" or "all") Nn.Runtime.Kernels.GemmJob.SharedAOff = off;
        if (change is "spin" or "all") Nn.Runtime.Kernels.WorkerPool.SpinMicroseconds = off ? 0 : Spin;
        if (change is "adaptive") Nn.Runtime.Kernels.WorkerPool.Shared.Adaptive = !off; // bind time: with --adaptive
        if (change is "pairs" or "fifth") Nn.Runtime.Engine.Lowering.KernelPairs.Off = off; // bind time
        if (change is "ablocks" or "fifth") Nn.Runtime.Kernels.GemmJob.SharedASmallBlocks = off;
        if (change is "looks" or "fifth") Nn.Runtime.Kernels.WorkerPool.PausesPerLook = off ? 20 : 1;
        if (change is "bands") Nn.Runtime.Engine.Lowering.ColumnBands.Off = off; // bind time
        if (change is "chains") Nn.Runtime.Engine.Lowering.BandChains.Off = off; // bind time
        if (change is "stream") Nn.Runtime.Engine.Lowering.StreamedStores.Off = off; // bind time
        if (change is "align") Nn.Runtime.Util.Pages.AlignOn = !off; // bind time: the step's buffers on cache lines
        if (change is "small" or "all")
        {
            Nn.Runtime.Kernels.GemmNarrow.RowsSplitOff = off;
            Nn.Runtime.Engine.Lowering.FusedLoopRunner.MinParallelLength = off ? 1 << 15 : 1 << 13;
        }
    }

    private static void Turn(IStepExecutor exec, HostTensor x, HostTensor y, int steps, ref long step,
        List<double> wall, List<double> cpu, List<double>? fastest = null)
    {
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpu0 = process.TotalProcessorTime;
        long t0 = Stopwatch.GetTimestamp(), before = t0;
        var each = new double[steps];
        for (int s = 0; s < steps; s++)
        {
            exec.Step(x, y, 0.01, step++, 1);
            long after = Stopwatch.GetTimestamp();
            each[s] = (after - before) / (double)Stopwatch.Frequency;
            before = after;
        }
        double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        process.Refresh();
        wall.Add(seconds / steps);
        cpu.Add((process.TotalProcessorTime - cpu0).TotalSeconds / steps);
        // the tenth percentile of single steps: steps a neighbour's burst did not reach (a loaded machine's estimate)
        Array.Sort(each);
        fastest?.Add(each[steps / 10]);
    }

    private static double Median(List<double> v)
    {
        var s = v.OrderBy(t => t).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    private static string Ms(double seconds) => (seconds * 1e3).ToString(seconds < 0.01 ? "F3" : "F2");
}
