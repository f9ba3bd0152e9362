using Nn.Runtime;
using Nn.Runtime.Data;
using Nn.Runtime.Engine;
using Nn.Runtime.Engine.Planning;
using Nn.Runtime.Executors;
using Nn.Runtime.IR;
using Nn.Runtime.Kernels;
using Nn.Runtime.Ops;
using Nn.Runtime.Training;

namespace Nn.Bench;

/// <summary>
/// End-to-end training steps on the fused engine (forward, softmax cross-entropy with class-index targets, backward,
/// optimizer update: one planned graph). GFLOP/s counts the matrix products a step must do: per dense layer of
/// k inputs and n outputs, 2·b·k·n for the forward product, 2·b·k·n for the weight gradient and, for every layer
/// but the first, 2·b·k·n for the input gradient (the network input's gradient is never computed); elementwise
/// work (bias, activations, loss, optimizer) is not counted. The ratio is against the FMA peak re-measured next to
/// each case. Also: a fused elementwise chain run by the engine against the measured copy bandwidth, the per-step
/// overhead of a tiny network (xor, 2-8-1, batch 4) and the bytes allocated per step after warm-up.
/// With <c>--profile</c>, each case is followed by a per-kernel breakdown of a step (time, share, GEMM GFLOP/s
/// next to the same product run alone, warm and with its operands evicted from cache first, and next to the plan
/// kernel itself repeated on its bound buffers); with <c>--plan</c>, by the plan's kernels; <c>--only=TEXT</c> runs
/// the cases whose name contains TEXT (for example <c>--only="1024-10 b256 sgd 1t"</c>).
/// </summary>
internal static class TrainingStepBench
{
    private static readonly SourceSpan Sp = SourceSpan.None;

    private static readonly (int[] Layers, int Batch, string Opt)[] Cases =
    [
        ([784, 256, 10], 64, "sgd"), ([784, 256, 10], 256, "sgd"), ([784, 256, 10], 256, "adam"),
        ([784, 1024, 1024, 1024, 10], 256, "sgd"),
    ];

    public static void Run(Peak.Result peak, IReadOnlyList<string> flags)
    {
        int rounds = Timing.Rounds(flags);
        bool profile = flags.Contains("--profile"), plan = flags.Contains("--plan");
        string only = flags.FirstOrDefault(f => f.StartsWith("--only="))?["--only=".Length..] ?? "";
        Console.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
        var table = new Table("training step (fused engine)");
        // Every case is timed in each of `rounds` passes over all cases, and keeps its best pass: on this shared
        // machine a neighbour's burst can slow one 2-second window by 15%, so one window per case under-reports at
        // random. The fraction is taken against the largest FMA peak measured at start or after any pass (never a
        // smaller one).
        var cases = new List<(string Name, IStepExecutor Exec, HostTensor X, HostTensor Y, double Flops, int Threads,
            List<double> Seconds, List<double> Peaks)>();
        foreach (var (layers, batch, opt) in Cases)
            foreach (int threads in new[] { 1, 2 })
            {
                string name = $"{string.Join("-", layers)} b{batch} {opt} {threads}t";
                if (!name.Contains(only)) continue;
                var (exec, x, y) = Mlp(layers, batch, opt, threads);
                cases.Add((name, exec, x, y, StepFlops(layers, batch), threads, [],
                    [threads == 1 ? peak.Gflops1 : peak.Gflops2]));
            }
        long step = 1;
        for (int round = 0; round < rounds; round++)
            foreach (var c in cases)
            {
                c.Seconds.Add(Timing.BestSeconds(() => c.Exec.Step(c.X, c.Y, 0.01, step++, 1), repeats: 7,
                    minBatchSeconds: 0.3));
                c.Peaks.Add(Peak.Fma(c.Threads, 0.1));
                if (round > 0) continue;
                if (plan && c.Threads == 1)
                    Console.WriteLine($"\nplan of {c.Name}:\n{PlanPrinter.Text(((FusedExecutor)c.Exec).TrainPlan)}");
                if (profile) Profile(c.Name, (FusedExecutor)c.Exec, c.X, c.Y, c.X.Shape[0], c.Threads, c.Seconds[0]);
            }
        foreach (var c in cases)
        {
            double s = c.Seconds.Min(), p = c.Peaks.Max();
            table.Add(c.Name, s * 1e3, "ms/step", c.Flops / s / 1e9 / p,
                $"{c.Flops / s / 1e9:F1} GFLOP/s, peak {p:F0}, {Allocated(c.Exec, c.X, c.Y)} B/step; " +
                $"passes {string.Join(" / ", c.Seconds.Select(t => (t * 1e3).ToString(t < 0.01 ? "F3" : "F1")))} ms");
        }
        Xor(table);
        Chain(table, peak);
        table.Print();
        Console.WriteLine($"(ms/step is the best of {rounds} passes over the cases, " +
                          "each the best of 7 timed batches after warm-up; 'of peak' is");
        Console.WriteLine(" GFLOP/s over the largest FMA peak on the same threads, " +
                          "measured at start and right after each pass of the case;");
        Console.WriteLine(" the chain row is GB/s over the copy bandwidth measured at start)");
    }

    /// <summary>The matrix-product FLOPs of one training step of a dense net (see the class summary).</summary>
    public static double StepFlops(int[] layers, int batch)
    {
        double flops = 0;
        for (int i = 1; i < layers.Length; i++)
        {
            double product = 2.0 * batch * layers[i - 1] * layers[i];
            flops += i == 1 ? 2 * product : 3 * product;
        }
        return flops;
    }

    /// <summary>Times every plan kernel over many steps and prints them with their share of the step; each GEMM also
    /// with its GFLOP/s and the GFLOP/s of the same product (shapes, transposes, epilogue-free) run alone, repeated on
    /// warm operands and with A, B and C evicted before each call, and of the plan kernel itself run back to back on
    /// its own buffers (best and mean): what separates a product's cost in the step from its cost alone (issue
    /// #5).</summary>
    internal static void Profile(string name, FusedExecutor exec, HostTensor x, HostTensor y, int batch, int threads,
        double stepSeconds)
    {
        int steps = Math.Max(20, (int)(1.0 / stepSeconds));
        exec.ProfileSteps(x, y, 0.01, 5000, 1, Math.Max(3, steps / 10));
        var best = exec.ProfileSteps(x, y, 0.01, 6000, 1, steps);
        for (int r = 0; r < 2; r++)
        {
            var again = exec.ProfileSteps(x, y, 0.01, 7000 + r * steps, 1, steps);
            for (int k = 0; k < best.Length; k++) best[k] = Math.Min(best[k], again[k]);
        }
        var kernels = exec.TrainPlan.Kernels;
        var dims = new Dictionary<string, int> { ["n"] = batch };
        double total = best.Sum() / steps;
        Console.WriteLine($"\nprofile of {name}: {total * 1e3:F3} ms/step summed over kernels " +
                          $"(timed step {stepSeconds * 1e3:F3} ms), " +
                          $"best of 3 runs of {steps} steps, per kernel");
        var byKind = new Dictionary<string, double>();
        for (int k = 0; k < kernels.Count; k++)
        {
            double s = best[k] / steps;
            string kind = kernels[k] switch
            {
                GemmKernel => "gemm",
                FusedLoop => "fused loop",
                NodeKernel { Node.Op: OpKind.Sum or OpKind.Mean or OpKind.ReduceMax } => "reduction",
                NodeKernel nk => OpName(nk.Node.Op),
                _ => "other",
            };
            byKind[kind] = byKind.GetValueOrDefault(kind) + s;
            string extra = "";
            if (kernels[k] is GemmKernel g)
            {
                var (m, n, kk) = GemmSize(g, dims);
                double f = 2.0 * m * n * kk;
                double alone = GemmAlone(g.TransA, g.TransB, m, n, kk, threads);
                double cold = GemmAlone(g.TransA, g.TransB, m, n, kk, threads, evict: true);
                var own = exec.TimeKernelWarm(x, y, k, 40);
                extra = $"  {m}x{n}x{kk}: {f / s / 1e9:F1} GFLOP/s (alone {f / alone / 1e9:F1}, " +
                        $"operands evicted {f / cold / 1e9:F1}, " +
                        $"this kernel repeated: best {f / own.Best / 1e9:F1}, mean {f / own.Mean / 1e9:F1})";
            }
            Console.WriteLine($"  k{k,-3} {s * 1e6,9:F1} µs {s / total * 100,5:F1}%  " +
                              $"{Trim(kernels[k].Describe())}{extra}");
        }
        Console.WriteLine("  by kind: " + string.Join(", ", byKind.OrderByDescending(kv => kv.Value)
            .Select(kv => $"{kv.Key} {kv.Value * 1e3:F3} ms ({kv.Value / total * 100:F1}%)")));
    }

    private static string OpName(OpKind op) => char.ToLowerInvariant(op.ToString()[0]) + op.ToString()[1..];

    private static string Trim(string s) => s.Length <= 110 ? s : s[..107] + "...";

    private static (int M, int N, int K) GemmSize(GemmKernel g, Dictionary<string, int> dims)
    {
        var o = g.MatMul.Shape.Resolve(dims);
        var a = g.A.Shape.Resolve(dims);
        int k = g.TransA ? a[^2] : a[^1];
        return (o[^2], o[^1], k);
    }

    private static readonly float[] Evictor = new float[16 << 20];

    /// <summary>Seconds of the product alone (best of batches of calls on warm operands); with
    /// <paramref name="evict"/>, the best of single calls each made right after 64 MiB are streamed through the caches
    /// (A, B and C cold).</summary>
    private static double GemmAlone(bool ta, bool tb, int m, int n, int k, int threads, bool evict = false)
    {
        var rng = new Random(3);
        var a = new float[m * k]; var b = new float[k * n]; var c = new float[m * n];
        for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble();
        for (int i = 0; i < b.Length; i++) b[i] = (float)rng.NextDouble();
        if (evict)
        {
            // Each call timed alone, right after 64 MiB are streamed through the caches; best of 20.
            double best = double.MaxValue;
            for (int r = 0; r < 21; r++)
            {
                var e = Evictor.AsSpan();
                for (int i = 0; i < e.Length; i += 16) e[i] += 1f;
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                Gemm.Multiply(ta, tb, m, n, k, 1f, a, ta ? m : k, b, tb ? k : n, 0f, c, n, threads);
                double t = (System.Diagnostics.Stopwatch.GetTimestamp() - t0)
                    / (double)System.Diagnostics.Stopwatch.Frequency;
                if (r > 0) best = Math.Min(best, t);
            }
            return best;
        }
        return Timing.BestSeconds(
            () => Gemm.Multiply(ta, tb, m, n, k, 1f, a, ta ? m : k, b, tb ? k : n, 0f, c, n, threads),
            repeats: 5, minBatchSeconds: 0.05);
    }

    internal static (IStepExecutor, HostTensor, HostTensor) Mlp(int[] layers, int batch, string opt, int threads)
    {
        Node Forward(ForwardContext ctx)
        {
            var b = ctx.Builder;
            var h = b.Input("x", new Shape(Dim.Sym("n"), Dim.Of(layers[0])), Sp);
            for (int i = 1; i < layers.Length; i++)
            {
                var w = b.Param($"w{i}", Shape.Of(layers[i - 1], layers[i]), new InitSpec("glorot"), Sp);
                var bias = b.Param($"b{i}", Shape.Of(layers[i]), InitSpec.Zeros, Sp);
                h = b.Binary(OpKind.Add, b.MatMul(h, w, Sp), bias, Sp);
                if (i < layers.Length - 1) h = b.Unary(OpKind.Relu, h, Sp);
            }
            return h;
        }
        var spec = new TrainSpec
        {
            Loss = LossKind.SoftmaxCrossEntropy, TargetShape = new Shape(Dim.Sym("n")),
            Optimizer = opt == "adam"
                ? new OptimizerSpec { Kind = OptimizerKind.Adam, Lr = 1e-3 }
                : new OptimizerSpec { Kind = OptimizerKind.Sgd, Lr = 0.01, Momentum = 0.9 },
        };
        var graphs = TrainStep.Build(Forward, spec);
        var exec = StepExecutor.Create(graphs, Initializers.ForGraph(graphs.Train, 1),
            new ExecutorOptions { Threads = threads });
        var rng = new Random(1);
        var x = new HostTensor([batch, layers[0]],
            Enumerable.Range(0, batch * layers[0]).Select(_ => (float)rng.NextDouble()).ToArray());
        var y = new HostTensor([batch], Enumerable.Range(0, batch).Select(_ => (float)rng.Next(layers[^1])).ToArray());
        return (exec, x, y);
    }

    private static long Allocated(IStepExecutor exec, HostTensor x, HostTensor y)
    {
        for (int i = 0; i < 3; i++) exec.Step(x, y, 0.01, 1000 + i, 1);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) exec.Step(x, y, 0.01, 2000 + i, 1);
        return (GC.GetAllocatedBytesForCurrentThread() - before) / 20;
    }

    private static void Xor(Table table)
    {
        static Node Forward(ForwardContext ctx)
        {
            var b = ctx.Builder;
            var x = b.Input("x", new Shape(Dim.Sym("n"), Dim.Of(2)), Sp);
            var h = b.Unary(OpKind.Tanh, b.Binary(OpKind.Add,
                b.MatMul(x, b.Param("w1", Shape.Of(2, 8), new InitSpec("glorot"), Sp), Sp),
                b.Param("b1", Shape.Of(8), InitSpec.Zeros, Sp), Sp), Sp);
            return b.Unary(OpKind.Sigmoid, b.Binary(OpKind.Add,
                b.MatMul(h, b.Param("w2", Shape.Of(8, 1), new InitSpec("glorot"), Sp), Sp),
                b.Param("b2", Shape.Of(1), InitSpec.Zeros, Sp), Sp), Sp);
        }
        var graphs = TrainStep.Build(Forward, new TrainSpec
        {
            Loss = LossKind.BinaryCrossEntropy, Optimizer = new OptimizerSpec { Kind = OptimizerKind.Sgd, Lr = 0.5 },
        });
        var exec = StepExecutor.Create(graphs, Initializers.ForGraph(graphs.Train, 1), new ExecutorOptions());
        var x = new HostTensor([4, 2], [0, 0, 0, 1, 1, 0, 1, 1]);
        var y = new HostTensor([4, 1], [0, 1, 1, 0]);
        long step = 1;
        double s = Timing.BestSeconds(() => exec.Step(x, y, 0.5, step++, 1), repeats: 7);
        table.Add("xor 2-8-1 b4 sgd 1t", s * 1e6, "µs/step", null, $"{Allocated(exec, x, y)} B/step");
    }

    private static void Chain(Table table, Peak.Result peak)
    {
        // The optimizer-update shape: new = w - lr * (0.9 * m + g), with m' stored too: reads w, m, g; writes m', w'.
        const int n = 8 << 20;
        var b = new GraphBuilder();
        var w = b.Input("w", Shape.Of(n), Sp); var m = b.Input("m", Shape.Of(n), Sp);
        var g = b.Input("g", Shape.Of(n), Sp);
        var lr = b.Input("lr", Shape.Scalar, Sp);
        var m2 = b.Binary(OpKind.Add, b.Binary(OpKind.Mul, b.Const(0.9, Sp), m, Sp), g, Sp);
        var w2 = b.Binary(OpKind.Sub, w, b.Binary(OpKind.Mul, lr, m2, Sp), Sp);
        var graph = b.Build([new("m", m2), new("w", w2)]);
        var rng = new Random(2);
        HostTensor Rand() => new([n], Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray());
        var feeds = new Dictionary<string, HostTensor>
        {
            ["w"] = Rand(), ["m"] = Rand(), ["g"] = Rand(), ["lr"] = new([], [0.01f]),
        };
        var c1 = GraphRunner.Compile(graph, feeds);
        var c2 = GraphRunner.Compile(graph, feeds, threads: 2);
        double bytes = 5.0 * n * sizeof(float);
        double s1 = Timing.BestSeconds(c1.Run), s2 = Timing.BestSeconds(c2.Run);
        double copy2 = CopyTwoThreads();
        table.Add($"fused update chain, {n * 4 >> 20} MiB/array", bytes / s1 / 1e9, "GB/s",
            bytes / s1 / 1e9 / peak.CopyGBs, "3 reads + 2 writes, 1 thread");
        table.Add($"  same, 2 threads", bytes / s2 / 1e9, "GB/s", bytes / s2 / 1e9 / copy2,
            $"of a 2-thread copy, {copy2:F1} GB/s now");
    }

    /// <summary>Copy bandwidth (read + write bytes) of 64 MiB with Span.CopyTo, each of two threads copying
    /// half.</summary>
    private static double CopyTwoThreads()
    {
        var job = new HalfCopy(new float[16 << 20], new float[16 << 20]);
        job.Src.AsSpan().Fill(1f);
        double s = Timing.BestSeconds(() => WorkerPool.Shared.Run(job, 2), repeats: 5, minBatchSeconds: 0.3);
        return 2.0 * job.Src.Length * sizeof(float) / s / 1e9;
    }

    private sealed class HalfCopy(float[] src, float[] dst) : IParallelWork
    {
        public float[] Src => src;
        public void Execute(int index, int count)
        {
            int lo = (int)((long)src.Length * index / count), hi = (int)((long)src.Length * (index + 1) / count);
            src.AsSpan(lo, hi - lo).CopyTo(dst.AsSpan(lo, hi - lo));
        }
    }
}
