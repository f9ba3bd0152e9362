using Nn.Runtime.Checkpoints;
using Nn.Runtime.Data;
using Nn.Runtime.Kernels;

namespace Nn.Bench;

/// <summary>
/// <c>bench zeros</c>: the products of <c>nn predict</c> on examples/mnist_mlp.nn (784-512-256-10) over the 10,000
/// digits in batches of 256, dense against skipping A's zero columns (<see cref="GemmZeroColumns"/>), 1 thread, weights
/// in panel layout as the predict-only executor holds them. Layer 1 reads the pixels (/255), layer 2 the post-ReLU
/// activations of layer 1 under trained weights (<c>--weights=FILE</c>, a checkpoint of mnist_mlp; default
/// /tmp/nn-peer-mnist-mlp/checkpoint.safetensors, which <c>bench/peer/run.sh predict</c> trains; random weights when
/// missing). Prints µs per product, GFLOP/s-equivalent (the dense product's flops over the time), the share of k steps
/// a 14-row panel keeps, and checks that both give the same bits.
/// </summary>
internal static class ZeroColumnsBench
{
    private const int Batch = 256;

    public static void Run(Peak.Result peak, IReadOnlyList<string> flags)
    {
        // --dense-percent=P: panels keeping at least P% of their k steps run dense (GemmZeroColumns.DensePercent)
        if (flags.FirstOrDefault(f => f.StartsWith("--dense-percent=")) is { } dp)
            GemmZeroColumns.DensePercent = int.Parse(dp["--dense-percent=".Length..]);
        var images = Idx.ReadImages(Path.Combine(Root(), "examples/data/mnist10k-images-idx3-ubyte.gz"));
        int batches = images.Rows / Batch, k1 = 784;
        var x = new float[batches * Batch * k1];
        for (int i = 0; i < x.Length; i++) x[i] = images.Data[i] / 255f;
        string file = flags.FirstOrDefault(f => f.StartsWith("--weights="))?["--weights=".Length..]
            ?? "/tmp/nn-peer-mnist-mlp/checkpoint.safetensors";
        var (w1, b1, w2, b2, source) = Weights(file);
        var h1 = new float[batches * Batch * 512];
        for (int t = 0; t < batches; t++)
            Product(x, t, k1, w1, 512, b1, h1, false);
        var table = new Table($"nn predict's products, {batches} batches of {Batch} digits, 1 thread, dense from " +
            $"{GemmZeroColumns.DensePercent}% kept ({source})");
        var layers = new[] { ("layer 1 [256,784]·[784,512]", x, k1, w1, 512, b1), ("layer 2 [256,512]·[512,256]",
            h1, 512, w2, 256, b2) };
        foreach (var (name, a, k, w, n, b) in layers)
        {
            var dense = new float[batches * Batch * n];
            var sparse = new float[batches * Batch * n];
            void Sweep(float[] c, bool skip) { for (int t = 0; t < batches; t++) Product(a, t, k, w, n, b, c, skip); }
            double dt = double.MaxValue, st = double.MaxValue;
            for (int round = 0, rounds = Timing.Rounds(flags); round < rounds; round++)
            {
                dt = Math.Min(dt, Timing.BestSeconds(() => Sweep(dense, false)) / batches);
                st = Math.Min(st, Timing.BestSeconds(() => Sweep(sparse, true)) / batches);
            }
            bool same = dense.AsSpan().SequenceEqual(sparse);
            double flops = 2.0 * Batch * n * k;
            table.Add($"{name} dense", dt * 1e6, "µs", flops / dt / 1e9 / peak.Gflops1,
                $"{flops / dt / 1e9:F1} GFLOP/s");
            table.Add($"{name} zero columns skipped", st * 1e6, "µs", flops / st / 1e9 / peak.Gflops1,
                $"{flops / st / 1e9:F1} GFLOP/s-equivalent, {dt / st:F2}x, bits {(same ? "equal" : "DIFFER")}, " +
                $"k kept by a 14-row panel {Kept(a, batches * Batch, k, 14):P1}, " +
                $"by one row {Kept(a, batches * Batch, k, 1):P1}");
        }
        table.Print();
    }

    /// <summary>One batch's product with the bias and relu in the product, as the predict-only executor runs
    /// it.</summary>
    private static void Product(float[] a, int t, int k, float[] wPanels, int n, float[] bias, float[] c, bool skip) =>
        Gemm.Multiply(false, false, Batch, n, k, 1f, a.AsSpan(t * Batch * k, Batch * k), k, wPanels, n, true, 0f,
            c.AsSpan(t * Batch * n, Batch * n), n, false, bias, Activation.Relu, 1, default, skip);

    /// <summary>The fraction of (panel, k) pairs where one of the panel's rows is nonzero, panels of
    /// <paramref name="rows"/> consecutive rows (the last partial one left out).</summary>
    private static double Kept(float[] a, int m, int k, int rows)
    {
        long kept = 0, all = 0;
        for (int r0 = 0; r0 + rows <= m; r0 += rows)
            for (int q = 0; q < k; q++, all++)
                for (int i = r0; i < r0 + rows; i++)
                    if (a[(long)i * k + q] != 0f) { kept++; break; }
        return (double)kept / all;
    }

    private static (float[], float[], float[], float[], string) Weights(string file)
    {
        float[] Panels(float[] w, int rows, int cols)
        {
            var p = new float[w.Length];
            GemmPanels.FromRowMajor(w, rows, cols, p);
            return p;
        }
        if (File.Exists(file))
        {
            var ck = SafeTensors.Read(file);
            float[] T(string name) => ck.Tensors[name].ToHost().Data;
            return (Panels(T("tower1.dense1.w"), 784, 512), T("tower1.dense1.b"),
                Panels(T("tower1.dense2.w"), 512, 256), T("tower1.dense2.b"), "trained weights " + file);
        }
        var rng = new Random(7);
        float[] R(int count, float scale) =>
            Enumerable.Range(0, count).Select(_ => ((float)rng.NextDouble() - 0.5f) * scale).ToArray();
        return (Panels(R(784 * 512, 0.1f), 784, 512), R(512, 0.1f), Panels(R(512 * 256, 0.1f), 512, 256), R(256, 0.1f),
            "random weights: " + file + " not found");
    }

    private static string Root()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Dsl.sln"))) return d.FullName;
        return Directory.GetCurrentDirectory();
    }
}
