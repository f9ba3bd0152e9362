using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>A micro-kernel and the tile and block sizes that go with it.</summary>
internal readonly unsafe struct MicroKernel
{
    /// <summary>C tile (MR×NR at c, row stride ldc) = alpha·Apanel·Bpanel + beta·C over kc packed steps.</summary>
    public readonly delegate*<int, float*, float*, float*, nint, float, float, void> Fn;
    public readonly int MR, NR, KC, MC, NC;

    public MicroKernel(delegate*<int, float*, float*, float*, nint, float, float, void> fn, int mr, int nr, int kc, int mc, int nc)
    {
        Fn = fn; MR = mr; NR = nr; KC = kc; MC = mc / mr * mr; NC = (nc + nr - 1) / nr * nr;
    }

    /// <summary>The kernel for an instruction set and a product n columns wide: narrow products (n ≤ 16, e.g. a
    /// convolution's few output channels) take a 16-wide kernel so less of each tile is zero padding.</summary>
    public static MicroKernel Select(GemmIsa isa, int n)
    {
        if (isa is GemmIsa.Auto or GemmIsa.Avx512 && Vector512.IsHardwareAccelerated) return n > 16 ? Avx512Kernel : Avx512NarrowKernel;
        if (isa is not GemmIsa.Scalar && Vector256.IsHardwareAccelerated) return Avx2Kernel;
        return ScalarKernel;
    }

    // Blocking for Zen 5 (48 KiB L1d, 1 MiB L2): a kc×32 B panel (32 KiB) stays in L1, an mc×kc A block (168 KiB) in L2,
    // a kc×nc B block (4 MiB) in the shared L3.
    private static readonly MicroKernel Avx512Kernel = new(&GemmMicroKernels.Avx512_14x32, 14, 32, 256, 168, 4096);
    private static readonly MicroKernel Avx512NarrowKernel = new(&GemmMicroKernels.Avx512_24x16, 24, 16, 256, 192, 4096);
    private static readonly MicroKernel Avx2Kernel = new(&GemmMicroKernels.Avx2_6x16, 6, 16, 256, 96, 4096);
    private static readonly MicroKernel ScalarKernel = new(&Scalar4x8, 4, 8, 256, 64, 1024);

    /// <summary>The portable 4×8 micro-kernel.</summary>
    private static void Scalar4x8(int kc, float* pa, float* pb, float* c, nint ldc, float alpha, float beta)
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

/// <summary>The serial blocked product over a band of C: the five loops of Goto's algorithm around the micro-kernel.</summary>
internal static unsafe class GemmDriver
{
    /// <summary>Computes rows [m0, m1) × columns [n0, n1) of C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(in GemmProblem p, int m0, int m1, int n0, int n1)
    {
        var kern = p.Kernel;
        int MR = kern.MR, NR = kern.NR;
        var ws = GemmWorkspace.For(kern);
        float* packA = ws.A, packB = ws.B, tile = ws.Tile;
        bool epilogue = p.Bias != null || p.Activation != Activation.Identity;

        for (int jc = n0; jc < n1; jc += kern.NC)
        {
            int nc = Math.Min(kern.NC, n1 - jc);
            for (int pc = 0; pc < p.K; pc += kern.KC)
            {
                int kc = Math.Min(kern.KC, p.K - pc);
                float beta = pc == 0 ? p.Beta : 1f;
                bool last = pc + kc == p.K;
                GemmPacking.PackB(p.TransB, p.B, p.Ldb, pc, jc, kc, nc, NR, packB);
                for (int ic = m0; ic < m1; ic += kern.MC)
                {
                    int mc = Math.Min(kern.MC, m1 - ic);
                    GemmPacking.PackA(p.TransA, p.A, p.Lda, ic, pc, mc, kc, MR, packA);
                    for (int jr = 0; jr < nc; jr += NR)
                    {
                        int nr = Math.Min(NR, nc - jr);
                        float* pb = packB + (nint)jr * kc;
                        for (int ir = 0; ir < mc; ir += MR)
                        {
                            int mr = Math.Min(MR, mc - ir);
                            float* pa = packA + (nint)ir * kc;
                            float* c = p.C + (nint)(ic + ir) * p.Ldc + jc + jr;
                            if (mr == MR && nr == NR)
                                kern.Fn(kc, pa, pb, c, p.Ldc, p.Alpha, beta);
                            else
                            {
                                kern.Fn(kc, pa, pb, tile, NR, 1f, 0f);
                                MergeEdge(tile, NR, c, p.Ldc, mr, nr, p.Alpha, beta);
                            }
                            if (last && epilogue)
                                for (int i = 0; i < mr; i++)
                                    Epilogue.Apply(new Span<float>(c + (nint)i * p.Ldc, nr), p.Bias == null ? null : p.Bias + jc + jr, p.Activation);
                        }
                    }
                }
            }
        }
    }

    /// <summary>Writes the valid mr×nr corner of a full tile into C: C = alpha·tile + beta·C.</summary>
    private static void MergeEdge(float* tile, int ldt, float* c, nint ldc, int mr, int nr, float alpha, float beta)
    {
        for (int i = 0; i < mr; i++)
        {
            float* t = tile + i * ldt;
            float* ci = c + i * ldc;
            if (beta == 0f) for (int j = 0; j < nr; j++) ci[j] = alpha * t[j];
            else for (int j = 0; j < nr; j++) ci[j] = alpha * t[j] + beta * ci[j];
        }
    }
}

/// <summary>
/// One thread's packing buffers, 64-byte aligned native memory allocated on the thread's first product and
/// reused by every later one (grown only if a larger kernel needs more). Freed when the thread ends.
/// </summary>
internal sealed unsafe class GemmWorkspace
{
    [ThreadStatic] private static GemmWorkspace? t_ws;
    public float* A, B, Tile;
    private nuint _aLen, _bLen;

    public static GemmWorkspace For(in MicroKernel k)
    {
        var ws = t_ws ??= new GemmWorkspace();
        nuint aLen = (nuint)k.MC * (nuint)k.KC, bLen = (nuint)k.KC * (nuint)k.NC;
        if (ws._aLen < aLen) { ws.A = Realloc(ws.A, aLen); ws._aLen = aLen; }
        if (ws._bLen < bLen) { ws.B = Realloc(ws.B, bLen); ws._bLen = bLen; }
        if (ws.Tile == null) ws.Tile = Realloc(null, 16 * 64);
        return ws;
    }

    private static float* Realloc(float* old, nuint floats)
    {
        if (old != null) NativeMemory.AlignedFree(old);
        return (float*)NativeMemory.AlignedAlloc(floats * sizeof(float), 64);
    }

    ~GemmWorkspace()
    {
        if (A != null) NativeMemory.AlignedFree(A);
        if (B != null) NativeMemory.AlignedFree(B);
        if (Tile != null) NativeMemory.AlignedFree(Tile);
    }
}
