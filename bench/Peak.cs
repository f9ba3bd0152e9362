using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Nn.Runtime.Kernels;

namespace Nn.Bench;

/// <summary>The machine's measured ceilings: FMA throughput with register-resident
/// chains, and copy bandwidth.</summary>
internal static class Peak
{
    /// <summary>Measured peaks, used as the denominators of every other table.</summary>
    public sealed record Result(double Gflops1, double Gflops2, double CopyGBs);

    private const int Iterations = 1 << 20;

    public static Result Measure()
    {
        var table = new Table("peak");
        double g1 = Fma(1), g2 = Fma(2);
        table.Add("FMA Vector512, 1 thread", g1, "GFLOP/s", null, "16 independent chains");
        table.Add("FMA Vector512, 2 threads", g2, "GFLOP/s", null, $"{g2 / g1:F2}x of 1 thread");
        double bw = Copy();
        table.Add("copy 64 MiB (read + write bytes)", bw, "GB/s");
        table.Print();
        return new Result(g1, g2, bw);
    }

    /// <summary>FMA GFLOP/s on <paramref name="threads"/> threads, measured now (the machine is shared: callers
    /// re-measure it next to each case so the ratio compares like with like).</summary>
    public static double Fma(int threads, double seconds = 0.3)
    {
        var job = new FmaJob();
        double s = Timing.BestSeconds(() => WorkerPool.Shared.Run(job, threads), repeats: 5, minBatchSeconds: seconds);
        return 2.0 * 16 * 16 * Iterations * threads / s / 1e9;
    }

    private sealed class FmaJob : IParallelWork
    {
        public float Sink;
        public void Execute(int index, int count) => Sink += Chains(Iterations);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float Chains(int iterations)
    {
        var m = Vector512.Create(0.9999999f);
        var a = Vector512.Create(1e-7f);
        Vector512<float> c0 = Vector512.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0,
            c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
        for (int i = 0; i < iterations; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, m, a); c1 = Vector512.FusedMultiplyAdd(c1, m, a);
            c2 = Vector512.FusedMultiplyAdd(c2, m, a); c3 = Vector512.FusedMultiplyAdd(c3, m, a);
            c4 = Vector512.FusedMultiplyAdd(c4, m, a); c5 = Vector512.FusedMultiplyAdd(c5, m, a);
            c6 = Vector512.FusedMultiplyAdd(c6, m, a); c7 = Vector512.FusedMultiplyAdd(c7, m, a);
            c8 = Vector512.FusedMultiplyAdd(c8, m, a); c9 = Vector512.FusedMultiplyAdd(c9, m, a);
            c10 = Vector512.FusedMultiplyAdd(c10, m, a); c11 = Vector512.FusedMultiplyAdd(c11, m, a);
            c12 = Vector512.FusedMultiplyAdd(c12, m, a); c13 = Vector512.FusedMultiplyAdd(c13, m, a);
            c14 = Vector512.FusedMultiplyAdd(c14, m, a); c15 = Vector512.FusedMultiplyAdd(c15, m, a);
        }
        var s = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11 + c12 + c13 + c14 + c15;
        return Vector512.Sum(s);
    }

    private static double Copy()
    {
        var src = new float[16 << 20];
        var dst = new float[16 << 20];
        src.AsSpan().Fill(1f);
        double s = Timing.BestSeconds(() => src.AsSpan().CopyTo(dst), repeats: 5, minBatchSeconds: 0.3);
        return 2.0 * src.Length * sizeof(float) / s / 1e9;
    }
}
