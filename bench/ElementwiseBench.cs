using Nn.Runtime.Kernels;

namespace Nn.Bench;

/// <summary>
/// Elementwise throughput: the fused chain <c>tanh(relu(x + y))</c> in one pass against the same chain as three
/// passes, over arrays far larger than cache (memory-bound: compare with the copy bandwidth) and over arrays
/// that fit in L1/L2 (compute-bound).
/// </summary>
internal static class ElementwiseBench
{
    public static void Run(Peak.Result peak)
    {
        var table = new Table("elementwise  dst = tanh(relu(x + y))");
        foreach (int n in new[] { 16 << 20, 8 << 10 })
        {
            var x = new float[n];
            var y = new float[n];
            var d = new float[n];
            var rng = new Random(1);
            for (int i = 0; i < n; i++)
            {
                x[i] = (float)rng.NextDouble() * 4 - 2;
                y[i] = (float)rng.NextDouble() * 4 - 2;
            }
            string size = n >= 1 << 20 ? $"{n * 4 >> 20} MiB" : $"{n * 4 >> 10} KiB";
            double fused = Timing.BestSeconds(() => Elementwise.Binary<Then<AddOp, Compose<TanhOp, ReluOp>>>(x, y, d));
            double split = Timing.BestSeconds(() =>
            {
                Elementwise.Binary<AddOp>(x, y, d);
                Elementwise.Unary<ReluOp>(d, d);
                Elementwise.Unary<TanhOp>(d, d);
            });
            // Bytes the fused loop must move: read x and y, write dst.
            double bytes = 3.0 * n * sizeof(float);
            table.Add($"fused, {size} per array", bytes / fused / 1e9, "GB/s", bytes / fused / 1e9 / peak.CopyGBs,
                $"{n / fused / 1e9:F2} Gelem/s");
            long threshold = Elementwise.NonTemporalThreshold;
            Elementwise.NonTemporalThreshold = long.MaxValue;
            double ordinary =
                Timing.BestSeconds(() => Elementwise.Binary<Then<AddOp, Compose<TanhOp, ReluOp>>>(x, y, d));
            Elementwise.NonTemporalThreshold = threshold;
            table.Add($"  same, ordinary stores", bytes / ordinary / 1e9, "GB/s", bytes / ordinary / 1e9 / peak.CopyGBs,
                Elementwise.NonTemporalThreshold <= bytes
                    ? $"streaming stores are {ordinary / fused:F2}x faster"
                    : "(below the streaming threshold: same path)");
            table.Add($"three passes, {size} per array", bytes / split / 1e9, "GB/s",
                bytes / split / 1e9 / peak.CopyGBs, $"fused is {split / fused:F2}x faster");
            double exp = Timing.BestSeconds(() => Elementwise.Unary<ExpOp>(x, d));
            table.Add($"exp, {size}", 2.0 * n * sizeof(float) / exp / 1e9, "GB/s",
                2.0 * n * sizeof(float) / exp / 1e9 / peak.CopyGBs, $"{n / exp / 1e9:F2} Gelem/s");
        }
        table.Print();
        Console.WriteLine("(GB/s counts the bytes the operation must read and write; " +
            "'of peak' is against the measured copy bandwidth)");
    }
}
