using System.Globalization;
using System.Runtime.InteropServices;
using Nn.Compiler;
using Nn.Runtime.Data;
using Nn.Runtime.Engine;
using Nn.Runtime.Executors;
using Nn.Runtime.Training;

namespace Nn.Bench;

/// <summary>The training step of examples/adding.nn's `lstm` network (x [64, 50, 2] |> lstm 32 |> lastStep |> dense 1,
/// MSE, Adam), compiled from the example itself, on the fused engine with one thread: the step (forward, backward and
/// update) and the forward pass alone (the prediction graph), each the median of several timed batches of calls;
/// issue #20's comparison with PyTorch's nn.LSTM (`bench/peer/run.sh lstm`). With <c>--profile</c>, the per-kernel
/// breakdown of a step; with <c>--json</c>, one JSON line for bench/peer/run.py.</summary>
internal static class LstmBench
{
    public const int Batch = 64, Steps = 50;

    public static void Run(IReadOnlyList<string> flags)
    {
        var (exec, x, y) = Build(Batch, 1);
        long step = 1;
        var train = MedianSeconds(() => exec.Step(x, y, 1e-2, step++, 1));
        var forward = MedianSeconds(() => exec.Predict(x));
        if (flags.Contains("--json"))
        {
            string Ms(double seconds) => (seconds * 1e3).ToString("R", CultureInfo.InvariantCulture);
            Console.WriteLine($"{{\"step_ms\": {Ms(train.Wall)}, \"forward_ms\": {Ms(forward.Wall)}, " +
                $"\"step_cpu_ms\": {Ms(train.Cpu)}, \"forward_cpu_ms\": {Ms(forward.Cpu)}}}");
            return;
        }
        Console.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
        var table = new Table("adding.nn `lstm` (batch 64, 50 steps, 2 -> 32 units, adam, 1 thread)");
        table.Add("training step", train.Wall * 1e3, "ms/step", null,
            $"forward, backward, update; thread CPU {train.Cpu * 1e3:F3} ms");
        table.Add("forward (prediction graph)", forward.Wall * 1e3, "ms/batch", null,
            $"thread CPU {forward.Cpu * 1e3:F3} ms");
        table.Print();
        if (flags.Contains("--profile"))
            TrainingStepBench.Profile("lstm b64 adam 1t", (FusedExecutor)exec, x, y, Batch, 1, train.Wall);
    }

    /// <summary>The median of 7 batches of calls (each about 0.2 s) of the mean seconds per call, after a warm-up,
    /// in wall time and in this thread's CPU time (which a busy machine inflates less: the thread waiting for a core
    /// is not counted): the median rather than the best, as PyTorch's side (torch_lstm.py) reports.</summary>
    internal static (double Wall, double Cpu) MedianSeconds(Action body)
    {
        WarmUp(body);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        int calls = 0;
        while (sw.Elapsed.TotalSeconds < 0.05) { body(); calls++; }
        int batch = Math.Max(1, (int)(calls * 0.2 / sw.Elapsed.TotalSeconds));
        var wall = new List<double>();
        var cpu = new List<double>();
        for (int r = 0; r < 7; r++)
        {
            double c0 = ThreadCpuSeconds();
            sw.Restart();
            for (int i = 0; i < batch; i++) body();
            wall.Add(sw.Elapsed.TotalSeconds / batch);
            cpu.Add((ThreadCpuSeconds() - c0) / batch);
        }
        wall.Sort();
        cpu.Sort();
        return (wall[3], cpu[3]);
    }

    /// <summary>Calls <paramref name="body"/> until its CPU time per call stops falling: the runtime recompiles hot
    /// methods with full optimisation on a background thread, which on a loaded machine gets its turn late (measured
    /// at load 40: the step's thread CPU time 6.4 ms at first, 2.3 ms with every method optimised from the start,
    /// DOTNET_TieredCompilation=0). Rounds of 30 calls with a pause between them (the background thread's turn), until
    /// two rounds in a row are no more than 3% better than the best so far (at most 40 rounds).</summary>
    private static void WarmUp(Action body)
    {
        double best = double.MaxValue;
        for (int round = 0, still = 0; round < 40 && still < 2; round++)
        {
            double c0 = ThreadCpuSeconds();
            for (int i = 0; i < 30; i++) body();
            double perCall = (ThreadCpuSeconds() - c0) / 30;
            still = perCall < best * 0.97 ? 0 : still + 1;
            best = Math.Min(best, perCall);
            Thread.Sleep(100);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec { public long Seconds, Nanoseconds; }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec t);

    /// <summary>The CPU time of the calling thread (Linux's CLOCK_THREAD_CPUTIME_ID, as Python's
    /// time.thread_time()).</summary>
    internal static double ThreadCpuSeconds() =>
        ClockGetTime(3, out var t) == 0 ? t.Seconds + t.Nanoseconds * 1e-9 : double.NaN;

    /// <summary>The example's `lstm` network and train block compiled from examples/adding.nn, an executor on it and
    /// one batch of the adding problem (values uniform in [0, 1), one marker in each half, the target their
    /// sum).</summary>
    internal static (IStepExecutor, HostTensor, HostTensor) Build(int batch, int threads)
    {
        string file = Path.Combine(Root(), "examples", "adding.nn");
        var compiled = Compile.compileFile(file);
        if (compiled.IsError) throw new InvalidOperationException($"{file} does not compile");
        var c = compiled.ResultValue;
        var net = c.Networks.First(n => n.Decl.Name == "lstm");
        var graphs = Checkpoint.graphsFor(c, Checkpoint.blockFor(c, "lstm", false), net);
        var exec = StepExecutor.Create(graphs, Initializers.ForGraph(graphs.Train, 1),
            new ExecutorOptions { Threads = threads });
        var rng = new Random(1);
        var xs = new float[batch * Steps * 2];
        var ys = new float[batch];
        for (int r = 0; r < batch; r++)
        {
            int a = rng.Next(Steps / 2), b = Steps / 2 + rng.Next(Steps / 2);
            for (int t = 0; t < Steps; t++)
            {
                float v = (float)rng.NextDouble();
                xs[(r * Steps + t) * 2] = v;
                if (t != a && t != b) continue;
                xs[(r * Steps + t) * 2 + 1] = 1;
                ys[r] += v;
            }
        }
        return (exec, new HostTensor([batch, Steps, 2], xs), new HostTensor([batch, 1], ys));
    }

    /// <summary>The repository's root: the first folder up from here that holds examples/adding.nn.</summary>
    private static string Root()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d != null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "examples", "adding.nn"))) return d.FullName;
        throw new InvalidOperationException("examples/adding.nn not found above the current folder");
    }
}
