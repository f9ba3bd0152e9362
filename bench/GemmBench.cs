using Nn.Runtime.Kernels;

namespace Nn.Bench;

/// <summary>Single-precision GEMM throughput at 1 and 2 threads, as a fraction of the measured FMA peak: square
/// products, then the shapes of an MLP training step (forward, dW = Xᵀ·dY, dX = dY·Wᵀ).</summary>
internal static class GemmBench
{
    /// <summary>One product shape: C (m×n) = op(A) (m×k) · op(B) (k×n).</summary>
    private sealed record Shape(string Name, bool TransA, bool TransB, int M, int N, int K);

    /// <summary>The products of a 784-256 and a 1024-1024 dense layer at batch 256, forward and backward, and
    /// at batch 64 and 128.</summary>
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

    public static void Run(Peak.Result peak, int[] sizes, IReadOnlyList<string> flags)
    {
        var table = new Table("gemm  C = op(A)·op(B) (row-major, float32)");
        // As the training table: every case timed in each pass over all cases, its best pass kept, against the largest
        // peak measured at start or right after any of its passes.
        var cases = sizes.Select(n => new Shape($"gemm {n}³", false, false, n, n, n)).Concat(Mlp)
            .SelectMany(s => new[] { 1, 2 }.Select(t => new Case(s, t, peak))).ToArray();
        for (int round = 0, rounds = Timing.Rounds(flags); round < rounds; round++)
            foreach (var c in cases) c.Time();
        foreach (var c in cases) c.Report(table);
        table.Print();
    }

    /// <summary>One shape on some threads: its operands, and the seconds and peak of each pass.</summary>
    private sealed class Case(Shape s, int threads, Peak.Result start)
    {
        private float[]? _a, _b, _c;
        private readonly List<double> _seconds = [];
        private double _peak = threads == 1 ? start.Gflops1 : start.Gflops2;

        public void Time()
        {
            if (_a is null)
            {
                var rng = new Random(s.M * 31 + s.N * 7 + s.K);
                _a = new float[s.M * s.K];
                _b = new float[s.K * s.N];
                _c = new float[s.M * s.N];
                for (int i = 0; i < _a.Length; i++) _a[i] = (float)rng.NextDouble() - 0.5f;
                for (int i = 0; i < _b.Length; i++) _b[i] = (float)rng.NextDouble() - 0.5f;
            }
            int lda = s.TransA ? s.M : s.K, ldb = s.TransB ? s.K : s.N;
            float[] a = _a, b = _b!, c = _c!;
            _seconds.Add(Timing.BestSeconds(
                () => Gemm.Multiply(s.TransA, s.TransB, s.M, s.N, s.K, 1f, a, lda, b, ldb, 0f, c, s.N, threads),
                repeats: 5, minBatchSeconds: 0.3));
            _peak = Math.Max(_peak, Peak.Fma(threads, 0.1));
        }

        public void Report(Table table)
        {
            double sec = _seconds.Min(), gflops = 2.0 * s.M * s.N * s.K / sec / 1e9;
            table.Add($"{s.Name}, {threads}t", gflops, "GFLOP/s", gflops / _peak,
                $"{sec * 1e3:F3} ms; {gflops / threads:F1} per core; peak {_peak:F0}; passes " +
                string.Join(" / ", _seconds.Select(t => (2.0 * s.M * s.N * s.K / t / 1e9).ToString("F0"))) +
                " GFLOP/s");
        }
    }
}
