using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>
/// Skipping the k steps of a packed A panel where all MR rows are zero (±0): <c>nn predict</c>'s first product reads
/// pixels, of which 19% are nonzero on the MNIST digits, and a k step is zero in all 14 rows of a panel about half the
/// time. <see cref="Find"/> lists, for each full panel of a packed block, the steps that have a nonzero value and
/// compacts the panel to them in place when few enough remain; the driver then runs
/// <see cref="GemmMicroKernels.Avx512_14x32_Skip"/> over the kept steps, reading B's row <c>index[t]</c> for step t.
/// <para>Exact: each C element is one FMA chain over k in order (the 14×32 kernels, and the passes over kc in order,
/// <see cref="GemmDriver.Run"/>), and a skipped step would have added 0·b, which leaves a nonzero accumulator unchanged
/// when b is finite. So the result is the dense kernel's bit for bit, except that a −0 accumulator (a product that
/// underflowed to −0) stays −0 where the dense sum gives +0, and that 0·∞ = NaN is lost: the caller asks for skipping
/// only where B is known finite (<see cref="GemmProblem.SkipZeroColumns"/>: the predict-only executor's weights,
/// checked when they are bound).</para>
/// </summary>
internal static unsafe class GemmZeroColumns
{
    /// <summary>A panel is compacted when fewer than this percentage of its k steps are kept; above it the dense
    /// kernel runs (the gathered B rows cost a little more a step; see bench/README.md, "Sixth #18 session").</summary>
    internal static int DensePercent = 85;

    /// <summary>
    /// For each full <paramref name="mr"/>-row panel of the packed mc×kc block at <paramref name="packA"/>: the k steps
    /// (in order) where one of its rows is nonzero go to <c>index[panel·kc ..]</c>; when fewer than
    /// <see cref="DensePercent"/>% of kc, the panel is compacted in place to those steps and <c>kept[panel]</c> is
    /// their number, else <c>kept[panel]</c> = −1 and the panel is left as packed (the dense kernel). A partial last
    /// panel is −1 (dense). NaN and infinity are nonzero (kept). 8 ≤ mr ≤ 16.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Find(float* packA, int mc, int kc, int mr, int* kept, int* index)
    {
        if (mr < 8 || mr > 16) KernelThrow.Argument(nameof(mr), $"8 to 16 rows a panel (got {mr})");
        var magnitude = Vector256.Create(0x7FFF_FFFFu);
        for (int ir = 0, panel = 0; ir < mc; ir += mr, panel++)
        {
            if (mc - ir < mr) { kept[panel] = -1; continue; }
            float* d = packA + (nint)ir * kc;
            int* idx = index + (nint)panel * kc;
            int n = 0;
            for (int q = 0; q < kc; q++)
            {
                // rows [0, 8) and [mr − 8, mr): every row of the step, some twice
                uint* s = (uint*)(d + (nint)q * mr);
                var v = (Vector256.Load(s) | Vector256.Load(s + mr - 8)) & magnitude;
                idx[n] = q;
                n += v == Vector256<uint>.Zero ? 0 : 1;
            }
            if ((long)n * 100 >= (long)kc * DensePercent) { kept[panel] = -1; continue; }
            kept[panel] = n;
            // Step t moves down from step idx[t] ≥ t: a later source never overlaps an earlier destination.
            for (int t = 0; t < n; t++)
            {
                int q = idx[t];
                if (q == t) continue;
                float* s = d + (nint)q * mr, o = d + (nint)t * mr;
                var lo = Vector256.Load(s);
                var hi = Vector256.Load(s + mr - 8);
                Vector256.Store(lo, o);
                Vector256.Store(hi, o + mr - 8);
            }
        }
    }
}
