using Nn.Runtime.Kernels;

namespace Nn.Bench;

/// <summary>Single-precision GEMM throughput at 1 and 2 threads, as a fraction of the measured FMA peak: square
/// products, then the shapes of an MLP training step (forward, dW = Xᵀ·dY, dX = dY·Wᵀ).</summary>
internal static class GemmBench
{
    /// <summary>One product shape: C (m×n) = op(A) (m×k) · op(B) (k×n).</summary>
    private sealed record Shape(string Name, bool TransA, bool TransB, int M, int N, int K);

    /// <summary>The products of a 784-256 and a 1024-1024 dense layer at batch 256, forward and backward, and at batch 64 and 128.</summary>
    private static readonly Shape[] Mlp =
    [
        new("fwd  X·W   [256,784]·[784,256]", false, false, 256, 256, 784),
        new("dW   Xᵀ·dY [784,256]·[256,256]", true, false, 784, 256, 256),
        new("dX   dY·Wᵀ [256,256]·[256,784]", false, true, 256, 784, 256),
        new("fwd  X·W   [256,1024]·[1024,1024]", false, false, 256, 1024, 1024),
        new("dW   Xᵀ·dY [1024,256]·[256,1024]", true, false, 1024, 1024, 256),
        new("dX   dY·Wᵀ [256,1024]·[1024,1024]", false, true, 256, 1024, 1024),
        // Batch 64 = 4·14 + 8 and 128 = 9·14 + 2 rows end in an edge tile of the 14-row kernel.
        new("fwd  X·W   [64,784]·[784,256]", false, false, 64, 256, 784),
        new("dX   dY·Wᵀ [64,256]·[256,784]", false, true, 64, 784, 256),
        new("fwd  X·W   [128,1024]·[1024,1024]", false, false, 128, 1024, 1024),
        new("dX   dY·Wᵀ [128,1024]·[1024,1024]", false, true, 128, 1024, 1024),
    ];

    public static void Run(Peak.Result peak, int[] sizes)
    {
        var table = new Table("gemm  C = op(A)·op(B) (row-major, float32)");
        foreach (int n in sizes) Case(table, peak, new Shape($"gemm {n}³", false, false, n, n, n));
        foreach (var s in Mlp) Case(table, peak, s);
        table.Print();
    }

    private static void Case(Table table, Peak.Result peak, Shape s)
    {
        var rng = new Random(s.M * 31 + s.N * 7 + s.K);
        var a = new float[s.M * s.K];
        var b = new float[s.K * s.N];
        var c = new float[s.M * s.N];
        for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble() - 0.5f;
        for (int i = 0; i < b.Length; i++) b[i] = (float)rng.NextDouble() - 0.5f;
        int lda = s.TransA ? s.M : s.K, ldb = s.TransB ? s.K : s.N;
        foreach (int threads in new[] { 1, 2 })
        {
            double sec = Timing.BestSeconds(() => Gemm.Multiply(s.TransA, s.TransB, s.M, s.N, s.K, 1f, a, lda, b, ldb, 0f, c, s.N, threads),
                repeats: 5, minBatchSeconds: 0.3);
            double gflops = 2.0 * s.M * s.N * s.K / sec / 1e9;
            // The machine is shared, so the peak is measured again right after the case and the larger is kept.
            double p = Math.Max(threads == 1 ? peak.Gflops1 : peak.Gflops2, Peak.Fma(threads, 0.1));
            table.Add($"{s.Name}, {threads}t", gflops, "GFLOP/s", gflops / p,
                $"{sec * 1e3:F3} ms; {gflops / threads:F1} per core; peak {p:F0}");
        }
    }
}
