using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>A micro-kernel and the tile and block sizes that go with it.</summary>
internal readonly unsafe struct MicroKernel
{
    /// <summary>C tile (MR×NR at c, row stride ldc) = alpha·Apanel·Bpanel + beta·C over kc packed steps. Every tile
    /// kernel also takes a prefetch hint, the next B micro-panel's rows to fetch (a pointer and a row count; null, 0
    /// for none), which the AVX-512 14×32 kernels (plain and with the epilogue) act on and the others ignore.</summary>
    public readonly delegate*<int, float*, float*, float*, nint, float, float, float*, int, void> Fn;
    public readonly int MR, NR, KC, MC, NC;

    /// <summary>Edge kernels over the same packed panels, or null: <c>EdgeRows[r]</c> computes the first r &lt; MR
    /// rows of a full-width tile, <c>EdgeHalf[r]</c> the first r ≤ MR rows and NR/2 columns, so a product's last
    /// rows (batch 256 = 18·14 + 4) and last narrow panel (n = 784 = 24·32 + 16) cost their own
    /// size, not a whole tile.</summary>
    public readonly delegate*<int, float*, float*, float*, nint, float, float, float*, int, void>[]? EdgeRows, EdgeHalf;

    /// <summary>The full tile with the epilogue in registers (bias row or null, relu or none), or null: the driver's
    /// last pass over k calls it for a full tile whose activation is relu or none, instead of <see cref="Fn"/> followed
    /// by <see cref="Epilogue.Apply"/> on each stored row.</summary>
    public readonly delegate*<int, float*, float*, float*, nint, float, float, float*, bool, float*, int, void>
        FnEpilogue;

    /// <summary>The full tile of a weight gradient with an SGD update in registers (<see cref="GemmUpdate"/>), or null:
    /// (kc, A panel, B panel, m or null, w, m' or null, w', μ, lr, 16-float check, floats ahead to the tile to
    /// prefetch), the tiles in panel layout.</summary>
    public readonly delegate*<int, float*, float*, float*, float*, float*, float*, float, float, float*, nint, void>
        FnSgd;

    /// <summary>The full tile over a compacted A panel's kept k steps (<see cref="GemmZeroColumns"/>), with the
    /// epilogue of <see cref="FnEpilogue"/>, or null: (kept, index, A panel, B panel, c, ldc, alpha, beta, bias or
    /// null, relu).</summary>
    public readonly delegate*<int, int*, float*, float*, float*, nint, float, float, float*, bool, void> FnSkip;

    public MicroKernel(delegate*<int, float*, float*, float*, nint, float, float, float*, int, void> fn,
        int mr, int nr, int kc, int mc, int nc,
        delegate*<int, float*, float*, float*, nint, float, float, float*, int, void>[]? edgeRows = null,
        delegate*<int, float*, float*, float*, nint, float, float, float*, int, void>[]? edgeHalf = null,
        delegate*<int, float*, float*, float*, nint, float, float, float*, bool, float*, int, void> fnEpilogue = null,
        delegate*<int, float*, float*, float*, float*, float*, float*, float, float, float*, nint, void> fnSgd = null,
        delegate*<int, int*, float*, float*, float*, nint, float, float, float*, bool, void> fnSkip = null)
    {
        FnSkip = fnSkip;
        Fn = fn; MR = mr; NR = nr; KC = kc; MC = mc / mr * mr; NC = (nc + nr - 1) / nr * nr;
        EdgeRows = edgeRows; EdgeHalf = edgeHalf; FnEpilogue = fnEpilogue; FnSgd = fnSgd;
    }

    /// <summary>The kernel for an instruction set and a product n columns wide: narrow products (n ≤ 16, e.g. a
    /// convolution's few output channels) take a 16-wide kernel so less of each tile is zero padding.</summary>
    public static MicroKernel Select(GemmIsa isa, int n)
    {
        if (isa is GemmIsa.Auto or GemmIsa.Avx512 && Vector512.IsHardwareAccelerated)
            return n > 16 ? Avx512Kernel : Avx512NarrowKernel;
        if (isa is not GemmIsa.Scalar && Vector256.IsHardwareAccelerated) return Avx2Kernel;
        return ScalarKernel;
    }

    /// <summary>The depth of each pass over k: K split into ⌈K/KC⌉ equal passes (a multiple of 8 for the packing
    /// transposes), so a K just above KC does not leave a thin last pass that rereads all
    /// of C for little work.</summary>
    public int PassDepth(int k)
    {
        int passes = Math.Max(1, (k + KC - 1) / KC);
        return Math.Min(KC, ((k + passes - 1) / passes + 7) / 8 * 8);
    }

    // Blocking for Zen 5 (48 KiB L1d, 1 MiB L2, shared L3), measured (bench/, 1 thread, thread CPU time): kc = 512
    // beats 256 by 5–8% at 1024³ and 2048³ because C is read and written once per pass over k, and the packed
    // panels stream sequentially from L2 well enough that the kc×32 B panel (64 KiB) need not fit L1. An mc×kc
    // A block (336 KiB) stays in L2, a kc×nc B block (up to 8 MiB) in L3.
    private static readonly MicroKernel Avx512Kernel = new(&GemmMicroKernels.Avx512_14x32, 14, 32, 512, 168, 4096,
        [null, &GemmMicroKernels.Avx512_1x32_Edge, &GemmMicroKernels.Avx512_2x32_Edge,
         &GemmMicroKernels.Avx512_3x32_Edge, &GemmMicroKernels.Avx512_4x32_Edge, &GemmMicroKernels.Avx512_5x32_Edge,
         &GemmMicroKernels.Avx512_6x32_Edge, &GemmMicroKernels.Avx512_7x32_Edge, &GemmMicroKernels.Avx512_8x32_Edge,
         &GemmMicroKernels.Avx512_9x32_Edge, &GemmMicroKernels.Avx512_10x32_Edge, &GemmMicroKernels.Avx512_11x32_Edge,
         &GemmMicroKernels.Avx512_12x32_Edge, &GemmMicroKernels.Avx512_13x32_Edge],
        [null, &GemmMicroKernels.Avx512_1x16_Edge, &GemmMicroKernels.Avx512_2x16_Edge,
         &GemmMicroKernels.Avx512_3x16_Edge, &GemmMicroKernels.Avx512_4x16_Edge, &GemmMicroKernels.Avx512_5x16_Edge,
         &GemmMicroKernels.Avx512_6x16_Edge, &GemmMicroKernels.Avx512_7x16_Edge, &GemmMicroKernels.Avx512_8x16_Edge,
         &GemmMicroKernels.Avx512_9x16_Edge, &GemmMicroKernels.Avx512_10x16_Edge, &GemmMicroKernels.Avx512_11x16_Edge,
         &GemmMicroKernels.Avx512_12x16_Edge, &GemmMicroKernels.Avx512_13x16_Edge, &GemmMicroKernels.Avx512_14x16_Edge],
        &GemmMicroKernels.Avx512_14x32_Epi, &GemmMicroKernels.Avx512_14x32_Sgd, &GemmMicroKernels.Avx512_14x32_Skip);
    private static readonly MicroKernel Avx512NarrowKernel =
        new(&GemmMicroKernels.Avx512_24x16, 24, 16, 256, 192, 4096);
    private static readonly MicroKernel Avx2Kernel = new(&GemmMicroKernels.Avx2_6x16, 6, 16, 256, 96, 4096);
    private static readonly MicroKernel ScalarKernel = new(&Scalar4x8, 4, 8, 256, 64, 1024);

    /// <summary>The largest pass depth (<see cref="KC"/>) of any kernel here: an A block packed for any product fits
    /// <c>MC</c> rows of it (<c>GemmWorkspace.For</c>).</summary>
    internal static readonly int DeepestPass =
        new[] { Avx512Kernel, Avx512NarrowKernel, Avx2Kernel, ScalarKernel }.Max(k => k.KC);

    /// <summary>The portable 4×8 micro-kernel (ignores the prefetch hint).</summary>
    private static void Scalar4x8(int kc, float* pa, float* pb, float* c, nint ldc, float alpha, float beta,
        float* next, int nextRows)
    {
        float* acc = stackalloc float[32];
        for (int t = 0; t < 32; t++) acc[t] = 0f;
        for (int p = 0; p < kc; p++, pa += 4, pb += 8)
            for (int i = 0; i < 4; i++)
            {
                float ai = pa[i];
                for (int j = 0; j < 8; j++) acc[i * 8 + j] += ai * pb[j];
            }
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 8; j++)
            {
                float* cij = c + i * ldc + j;
                *cij = beta == 0f ? alpha * acc[i * 8 + j] : alpha * acc[i * 8 + j] + beta * *cij;
            }
    }
}
