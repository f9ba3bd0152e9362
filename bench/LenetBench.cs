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

/// <summary>The training step of examples/lenet.nn (batch 64, Adam) on the fused engine, built here with the graph
/// builder: its time per step and, with <c>--profile</c>, the per-kernel breakdown (`bench lenet --profile`).</summary>
internal static class LenetBench
{
    private static readonly SourceSpan Sp = SourceSpan.None;

    public static void Run(Peak.Result peak, IReadOnlyList<string> flags)
    {
        Console.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
        var table = new Table("LeNet training step (fused engine, batch 64, adam)");
        foreach (int threads in new[] { 1, 2 })
        {
            var (exec, x, y) = Build(64, threads);
            long step = 1;
            double s = Timing.BestSeconds(() => exec.Step(x, y, 1e-3, step++, 1), repeats: 7, minBatchSeconds: 0.3);
            table.Add($"lenet b64 adam {threads}t", s * 1e3, "ms/step", null,
                $"{8000 / 64 * s:F3} s per epoch of 8000 images (steps only)");
            if (flags.Contains("--profile"))
                TrainingStepBench.Profile($"lenet b64 adam {threads}t", (FusedExecutor)exec, x, y, 64, threads, s);
        }
        // Interleaved A/B on one thread: the kernels of issue #18.5 (direct max pooling, direct conv2 kernels) off, as
        // before them, and on.
        {
            var (exec, x, y) = Build(64, 1);
            long step = 1;
            double on = double.MaxValue, off = double.MaxValue;
            for (int r = 0; r < 5; r++)
            {
                on = Math.Min(on, Timing.BestSeconds(() => exec.Step(x, y, 1e-3, step++, 1), repeats: 5));
                Pool2d.UseDirect = false; Conv2d.UseWide = false;
                off = Math.Min(off, Timing.BestSeconds(() => exec.Step(x, y, 1e-3, step++, 1), repeats: 5));
                Pool2d.UseDirect = true; Conv2d.UseWide = true;
            }
            table.Add("lenet b64 adam 1t, generic pooling + im2col conv2 (before)", off * 1e3, "ms/step", null,
                $"direct pooling and conv2 {on * 1e3:F3} ms/step ({off / on:F2}x), interleaved");
        }
        table.Print();
    }

    private static (IStepExecutor, HostTensor, HostTensor) Build(int batch, int threads)
    {
        static Node Conv(GraphBuilder b, Node h, int c, int channels, string name)
        {
            var k = b.Param($"k{name}", Shape.Of(5, 5, c, channels), new InitSpec("he"), Sp);
            var bias = b.Param($"b{name}", Shape.Of(channels), InitSpec.Zeros, Sp);
            return b.Binary(OpKind.Add, b.Conv2d(h, k, 1, 1, [2, 2, 2, 2], Sp), bias, Sp);
        }
        static Node Dense(GraphBuilder b, Node h, int from, int to, string name)
        {
            var w = b.Param($"w{name}", Shape.Of(from, to), new InitSpec("glorot"), Sp);
            var bias = b.Param($"b{name}", Shape.Of(to), InitSpec.Zeros, Sp);
            return b.Binary(OpKind.Add, b.MatMul(h, w, Sp), bias, Sp);
        }
        Node Forward(ForwardContext ctx)
        {
            var b = ctx.Builder;
            var n = Dim.Sym("n");
            var x = b.Input("x", new Shape(n, Dim.Of(28), Dim.Of(28)), Sp);
            var h = b.Reshape(b.Binary(OpKind.Div, x, b.Const(255.0, Sp), Sp),
                new Shape(n, Dim.Of(28), Dim.Of(28), Dim.Of(1)), Sp);
            h = b.Pool(OpKind.MaxPool2d, b.Unary(OpKind.Relu, Conv(b, h, 1, 6, "1"), Sp), 2, 2, Sp);
            h = b.Pool(OpKind.MaxPool2d, b.Unary(OpKind.Relu, Conv(b, h, 6, 16, "2"), Sp), 2, 2, Sp);
            h = b.Reshape(h, new Shape(n, Dim.Of(784)), Sp);
            h = b.Unary(OpKind.Relu, Dense(b, h, 784, 120, "3"), Sp);
            h = b.Unary(OpKind.Relu, Dense(b, h, 120, 84, "4"), Sp);
            return Dense(b, h, 84, 10, "5");
        }
        var spec = new TrainSpec
        {
            Loss = LossKind.SoftmaxCrossEntropy, TargetShape = new Shape(Dim.Sym("n")),
            Optimizer = new OptimizerSpec { Kind = OptimizerKind.Adam, Lr = 1e-3 },
        };
        var graphs = TrainStep.Build(Forward, spec);
        var exec = StepExecutor.Create(graphs, Initializers.ForGraph(graphs.Train, 1),
            new ExecutorOptions { Threads = threads });
        var rng = new Random(1);
        var x = new HostTensor([batch, 28, 28],
            Enumerable.Range(0, batch * 784).Select(_ => (float)rng.Next(256)).ToArray());
        var y = new HostTensor([batch], Enumerable.Range(0, batch).Select(_ => (float)rng.Next(10)).ToArray());
        return (exec, x, y);
    }
}
