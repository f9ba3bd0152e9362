using Nn.Runtime.Kernels;

namespace Nn.Bench;

/// <summary>Square single-precision GEMM throughput at 1 and 2 threads, as a fraction of the measured FMA peak.</summary>
internal static class GemmBench
{
    public static void Run(Peak.Result peak, int[] sizes)
    {
        var table = new Table("gemm  C = A·B (square, row-major, float32)");
        foreach (int n in sizes)
        {
            var rng = new Random(n);
            var a = new float[n * n];
            var b = new float[n * n];
            var c = new float[n * n];
            for (int i = 0; i < a.Length; i++) { a[i] = (float)rng.NextDouble() - 0.5f; b[i] = (float)rng.NextDouble() - 0.5f; }
            foreach (int threads in new[] { 1, 2 })
            {
                double s = Timing.BestSeconds(() => Gemm.Multiply(false, false, n, n, n, 1f, a, n, b, n, 0f, c, n, threads),
                    repeats: 5, minBatchSeconds: 0.3);
                double gflops = 2.0 * n * n * n / s / 1e9;
                // The machine is shared, so the peak is measured again right after the case and the larger is kept.
                double p = Math.Max(threads == 1 ? peak.Gflops1 : peak.Gflops2, Peak.Fma(threads, 0.1));
                table.Add($"gemm {n}³, {threads} thread{(threads > 1 ? "s" : "")}", gflops, "GFLOP/s", gflops / p,
                    $"{gflops / threads:F1} per core; peak {p:F0}");
            }
        }
        table.Print();
    }
}
