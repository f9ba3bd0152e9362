using Nn.Runtime;
using Nn.Runtime.Data;
using Nn.Runtime.Engine;
using Nn.Runtime.IR;
using Nn.Runtime.Kernels;
using Nn.Runtime.Ops;
using Nn.Runtime.Training;

namespace Nn.Bench;

/// <summary>
/// End-to-end training steps on the fused engine (forward, softmax cross-entropy with class-index targets, backward,
/// optimizer update: one planned graph). GFLOP/s counts 6·params·batch per step for dense nets (2·params·batch for
/// each of forward, input gradient and weight gradient; elementwise work and the first layer's unneeded input
/// gradient are not subtracted or added), against the FMA peak re-measured next to each case. Also: a fused
/// elementwise chain run by the engine against the measured copy bandwidth, the per-step overhead of a tiny network
/// (xor, 2-8-1, batch 4) and the bytes allocated per step after warm-up.
/// </summary>
internal static class TrainingStepBench
{
    private static readonly SourceSpan Sp = SourceSpan.None;

    public static void Run(Peak.Result peak)
    {
        Console.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
        var table = new Table("training step (fused engine)");
        foreach (var (layers, batch, opt) in new[] { (new[] { 784, 256, 10 }, 64, "sgd"), (new[] { 784, 256, 10 }, 256, "sgd"),
                                                     (new[] { 784, 256, 10 }, 256, "adam"), (new[] { 784, 1024, 1024, 1024, 10 }, 256, "sgd") })
            foreach (int threads in new[] { 1, 2 })
            {
                var (exec, x, y, parameters) = Mlp(layers, batch, opt, threads);
                long step = 1;
                double s = Timing.BestSeconds(() => exec.Step(x, y, 0.01, step++, 1), repeats: 7, minBatchSeconds: 0.3);
                double flops = 6.0 * parameters * batch;
                double peakNow = Peak.Fma(threads, 0.1);
                string name = $"{string.Join("-", layers)} b{batch} {opt} {threads}t";
                table.Add(name, s * 1e3, "ms/step", flops / s / 1e9 / peakNow,
                    $"{flops / s / 1e9:F1} GFLOP/s, peak now {peakNow:F0}, {Allocated(exec, x, y)} B/step");
            }
        Xor(table);
        Chain(table, peak);
        table.Print();
        Console.WriteLine("(ms/step is the best of 7 timed batches after warm-up; 'of peak' is GFLOP/s over the FMA peak on the same threads,");
        Console.WriteLine(" measured right after the case; the chain row is GB/s over the copy bandwidth measured at start)");
    }

    private static (IStepExecutor, HostTensor, HostTensor, long) Mlp(int[] layers, int batch, string opt, int threads)
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
            Loss = "softmaxCrossEntropy", TargetShape = new Shape(Dim.Sym("n")),
            Optimizer = opt == "adam" ? new OptimizerSpec { Kind = "adam", Lr = 1e-3 } : new OptimizerSpec { Kind = "sgd", Lr = 0.01, Momentum = 0.9 },
        };
        var graphs = TrainStep.Build(Forward, spec);
        var exec = Executors.Create(graphs, Initializers.ForGraph(graphs.Train, 1), new ExecutorOptions { Threads = threads });
        var rng = new Random(1);
        var x = new HostTensor([batch, layers[0]], Enumerable.Range(0, batch * layers[0]).Select(_ => (float)rng.NextDouble()).ToArray());
        var y = new HostTensor([batch], Enumerable.Range(0, batch).Select(_ => (float)rng.Next(layers[^1])).ToArray());
        long parameters = 0;
        for (int i = 1; i < layers.Length; i++) parameters += (long)layers[i - 1] * layers[i] + layers[i];
        return (exec, x, y, parameters);
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
            var h = b.Unary(OpKind.Tanh, b.Binary(OpKind.Add, b.MatMul(x, b.Param("w1", Shape.Of(2, 8), new InitSpec("glorot"), Sp), Sp),
                b.Param("b1", Shape.Of(8), InitSpec.Zeros, Sp), Sp), Sp);
            return b.Unary(OpKind.Sigmoid, b.Binary(OpKind.Add, b.MatMul(h, b.Param("w2", Shape.Of(8, 1), new InitSpec("glorot"), Sp), Sp),
                b.Param("b2", Shape.Of(1), InitSpec.Zeros, Sp), Sp), Sp);
        }
        var graphs = TrainStep.Build(Forward, new TrainSpec { Loss = "binaryCrossEntropy", Optimizer = new OptimizerSpec { Kind = "sgd", Lr = 0.5 } });
        var exec = Executors.Create(graphs, Initializers.ForGraph(graphs.Train, 1), new ExecutorOptions());
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
        var w = b.Input("w", Shape.Of(n), Sp); var m = b.Input("m", Shape.Of(n), Sp); var g = b.Input("g", Shape.Of(n), Sp);
        var lr = b.Input("lr", Shape.Scalar, Sp);
        var m2 = b.Binary(OpKind.Add, b.Binary(OpKind.Mul, b.Const(0.9, Sp), m, Sp), g, Sp);
        var w2 = b.Binary(OpKind.Sub, w, b.Binary(OpKind.Mul, lr, m2, Sp), Sp);
        var graph = b.Build([new("m", m2), new("w", w2)]);
        var rng = new Random(2);
        HostTensor Rand() => new([n], Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray());
        var feeds = new Dictionary<string, HostTensor> { ["w"] = Rand(), ["m"] = Rand(), ["g"] = Rand(), ["lr"] = new([], [0.01f]) };
        var c1 = GraphRunner.Compile(graph, feeds);
        var c2 = GraphRunner.Compile(graph, feeds, threads: 2);
        double bytes = 5.0 * n * sizeof(float);
        double s1 = Timing.BestSeconds(c1.Run), s2 = Timing.BestSeconds(c2.Run);
        double copy2 = CopyTwoThreads();
        table.Add($"fused update chain, {n * 4 >> 20} MiB/array", bytes / s1 / 1e9, "GB/s", bytes / s1 / 1e9 / peak.CopyGBs,
            "3 reads + 2 writes, 1 thread");
        table.Add($"  same, 2 threads", bytes / s2 / 1e9, "GB/s", bytes / s2 / 1e9 / copy2, $"of a 2-thread copy, {copy2:F1} GB/s now");
    }

    /// <summary>Copy bandwidth (read + write bytes) of 64 MiB with Span.CopyTo, each of two threads copying half.</summary>
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
