using Nn.Runtime.Kernels;

namespace Nn.Bench;

/// <summary>LeNet-size convolutions (batch 64): forward, kernel gradient and input gradient, as GFLOP/s.</summary>
internal static class ConvBench
{
    public static void Run(Peak.Result peak)
    {
        Console.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
        var table = new Table(
            "conv2d NHWC, batch 64 (direct for one input channel or 16 output channels, else im2col + GEMM; " +
            "2 threads split the batch)");
        string only = Environment.GetEnvironmentVariable("NN_BENCH_ONLY") ?? "";
        foreach (var (name, s) in new[]
        {
            ("LeNet conv1 28x28x1 -> 6, 5x5", Conv2dShape.Create(64, 28, 28, 1, 5, 5, 6, 1, 1, Padding.Valid)),
            ("LeNet conv2 14x14x6 -> 16, 5x5", Conv2dShape.Create(64, 14, 14, 6, 5, 5, 16, 1, 1, Padding.Valid)),
            // examples/lenet.nn pads `same`
            ("lenet.nn conv1 28x28x1 -> 6, 5x5 same", Conv2dShape.Create(64, 28, 28, 1, 5, 5, 6, 1, 1, Padding.Same)),
            ("lenet.nn conv2 14x14x6 -> 16, 5x5 same",
                Conv2dShape.Create(64, 14, 14, 6, 5, 5, 16, 1, 1, Padding.Same)),
        }.Where(c => c.Item1.Contains(only)))
        {
            var x = Fill(s.InputLength); var k = Fill(s.KernelLength); var y = new float[s.OutputLength];
            var dy = Fill(s.OutputLength); var dk = new float[s.KernelLength]; var dx = new float[s.InputLength];
            var ws = new float[s.WorkspaceLength];
            double flops = 2.0 * s.PatchCount * s.PatchLength * s.OutChannels;
            double unfold = Timing.BestSeconds(() => Conv2d.Unfold(s, x, ws));
            double gemmOnly = Timing.BestSeconds(() => Gemm.Multiply(false, false, s.PatchCount, s.OutChannels,
                s.PatchLength, 1f, ws, s.PatchLength, k, s.OutChannels, 0f, y, s.OutChannels));
            Gemm.Isa = GemmIsa.Avx2;
            double gemmAvx2 = Timing.BestSeconds(() => Gemm.Multiply(false, false, s.PatchCount, s.OutChannels,
                s.PatchLength, 1f, ws, s.PatchLength, k, s.OutChannels, 0f, y, s.OutChannels));
            Gemm.Isa = GemmIsa.Auto;
            gemmOnly = Math.Min(gemmOnly, Timing.BestSeconds(() => Gemm.Multiply(false, false, s.PatchCount,
                s.OutChannels, s.PatchLength, 1f, ws, s.PatchLength, k, s.OutChannels, 0f, y, s.OutChannels)));
            table.Add($"{name} fwd GEMM only, AVX2 kernel", flops / gemmAvx2 / 1e9, "GFLOP/s",
                flops / gemmAvx2 / 1e9 / peak.Gflops1, $"{gemmAvx2 * 1e3:F3} ms");
            table.Add($"{name} unfold only", s.WorkspaceLength * 8.0 / unfold / 1e9, "GB/s", null,
                $"{unfold * 1e3:F3} ms");
            table.Add($"{name} fwd GEMM only, 1t", flops / gemmOnly / 1e9, "GFLOP/s",
                flops / gemmOnly / 1e9 / peak.Gflops1, $"{gemmOnly * 1e3:F3} ms");
            foreach (int threads in new[] { 1, 2 })
            {
                double p = threads == 1 ? peak.Gflops1 : peak.Gflops2;
                double f = Timing.BestSeconds(() => Conv2d.Forward(s, x, k, y, ws, threads));
                double bk = Timing.BestSeconds(() => Conv2d.BackwardKernel(s, x, dy, dk, ws, 0f, threads));
                double bi = Timing.BestSeconds(() => Conv2d.BackwardInput(s, dy, k, dx, ws, threads));
                table.Add($"{name} fwd, {threads}t", flops / f / 1e9, "GFLOP/s", flops / f / 1e9 / p,
                    $"{f * 1e3:F3} ms");
                table.Add($"{name} dK, {threads}t", flops / bk / 1e9, "GFLOP/s", flops / bk / 1e9 / p,
                    $"{bk * 1e3:F3} ms");
                table.Add($"{name} dX, {threads}t", flops / bi / 1e9, "GFLOP/s", flops / bi / 1e9 / p,
                    $"{bi * 1e3:F3} ms");
            }
            if (Conv2d.IsDirect(s) || Conv2d.IsDirectWide(s))
            {
                // The same calls on im2col + GEMM, interleaved with the direct kernels' in this process.
                double fd = double.MaxValue, fi = double.MaxValue, kd = double.MaxValue, ki = double.MaxValue,
                    xd = double.MaxValue, xi = double.MaxValue;
                for (int r = 0; r < 3; r++)
                {
                    fd = Math.Min(fd, Timing.BestSeconds(() => Conv2d.Forward(s, x, k, y, ws, 1)));
                    kd = Math.Min(kd, Timing.BestSeconds(() => Conv2d.BackwardKernel(s, x, dy, dk, ws, 0f, 1)));
                    xd = Math.Min(xd, Timing.BestSeconds(() => Conv2d.BackwardInput(s, dy, k, dx, ws, 1)));
                    Conv2d.UseDirect = false;
                    xi = Math.Min(xi, Timing.BestSeconds(() => Conv2d.BackwardInput(s, dy, k, dx, ws, 1)));
                    fi = Math.Min(fi, Timing.BestSeconds(() => Conv2d.Forward(s, x, k, y, ws, 1)));
                    ki = Math.Min(ki, Timing.BestSeconds(() => Conv2d.BackwardKernel(s, x, dy, dk, ws, 0f, 1)));
                    Conv2d.UseDirect = true;
                }
                table.Add($"{name} fwd, 1t im2col (before)", flops / fi / 1e9, "GFLOP/s",
                    flops / fi / 1e9 / peak.Gflops1, $"{fi * 1e3:F3} ms; direct {fd * 1e3:F3} ms ({fi / fd:F1}x)");
                table.Add($"{name} dK, 1t im2col (before)", flops / ki / 1e9, "GFLOP/s",
                    flops / ki / 1e9 / peak.Gflops1, $"{ki * 1e3:F3} ms; direct {kd * 1e3:F3} ms ({ki / kd:F1}x)");
                table.Add($"{name} dX, 1t im2col (before)", flops / xi / 1e9, "GFLOP/s",
                    flops / xi / 1e9 / peak.Gflops1, $"{xi * 1e3:F3} ms; direct {xd * 1e3:F3} ms ({xi / xd:F1}x)");
            }
            // The path two threads took before the batch split: one unfold, then the GEMM's own two-thread split.
            double old = Timing.BestSeconds(() =>
            {
                Conv2d.Unfold(s, x, ws);
                Gemm.Multiply(false, false, s.PatchCount, s.OutChannels, s.PatchLength, 1f, ws, s.PatchLength, k,
                    s.OutChannels, 0f, y, s.OutChannels, 2);
            });
            double now2 = Timing.BestSeconds(() => Conv2d.Forward(s, x, k, y, ws, 2));
            table.Add($"{name} fwd, 2t GEMM split (before)", flops / old / 1e9, "GFLOP/s",
                flops / old / 1e9 / peak.Gflops2, $"{old * 1e3:F3} ms; batch split now {now2 * 1e3:F3} ms");
        }
        table.Print();
    }

    private static float[] Fill(int n)
    {
        var rng = new Random(n);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)rng.NextDouble() - 0.5f;
        return a;
    }
}
