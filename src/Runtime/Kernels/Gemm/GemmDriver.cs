using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>The serial blocked product over a band of C: the five loops of Goto's algorithm
/// around the micro-kernel.</summary>
internal static unsafe class GemmDriver
{
    /// <summary>Computes rows [m0, m1) × columns [n0, n1) of C, packing its own A and B blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(in GemmProblem p, int m0, int m1, int n0, int n1)
    {
        var kern = p.Kernel;
        int kcMax = kern.PassDepth(p.K);
        bool inPlace = BInPlace(in p);
        var ws = GemmWorkspace.For(kern.MC, kcMax,
            inPlace ? 0 : GemmPacking.PackedBLength(kcMax, Math.Min(kern.NC, n1 - n0), kern.NR));
        for (int jc = n0; jc < n1; jc += kern.NC)
        {
            int nc = Math.Min(kern.NC, n1 - jc);
            for (int pc = 0; pc < p.K; pc += kcMax)
            {
                int kc = Math.Min(kcMax, p.K - pc);
                if (inPlace) Block(in p, m0, m1, jc, nc, pc, kc, InPlaceB(in p, pc, jc), InPlaceStride(in p), ws);
                else
                {
                    GemmPacking.PackB(in p, pc, jc, kc, nc, kern.NR, ws.B);
                    Block(in p, m0, m1, jc, nc, pc, kc, ws.B, GemmPacking.PanelStride(kc, kern.NR), ws);
                }
            }
        }
    }

    /// <summary>Whether op(B) is read where it is stored: an untransposed B in panel layout is already a sequence of
    /// the micro-kernel's panels when the kernel is <see cref="GemmPanels.Width"/> columns wide.</summary>
    public static bool BInPlace(in GemmProblem p) => p.BPanels && !p.TransB && p.Kernel.NR == GemmPanels.Width;

    /// <summary>The first micro-panel of op(B)'s kc×nc block at (pc, jc), read in place
    /// (<see cref="BInPlace"/>).</summary>
    public static float* InPlaceB(in GemmProblem p, int pc, int jc) => p.B + GemmPanels.Offset(p.K, pc, jc);

    /// <summary>Floats from one in-place micro-panel to the next: a whole panel of B.</summary>
    public static int InPlaceStride(in GemmProblem p) => p.K * GemmPanels.Width;

    /// <summary>
    /// Rows [m0, m1) of C's columns [jc, jc+nc) += this pass's share: op(A)[m0..m1, pc..pc+kc] (packed here, mc rows
    /// at a time, into the workspace) times the packed kc×nc block of op(B). The first pass applies beta, the last
    /// the epilogue. B's micro-panels are <paramref name="bStride"/> floats apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Block(in GemmProblem p, int m0, int m1, int jc, int nc, int pc, int kc, float* packB,
        int bStride, GemmWorkspace ws)
    {
        var kern = p.Kernel;
        if (p.Update.Active) Vector512.Store(Vector512<float>.Zero, ws.Check);
        for (int ic = m0; ic < m1; ic += kern.MC)
        {
            int mc = Math.Min(kern.MC, m1 - ic);
            GemmPacking.PackA(p.TransA, p.A, p.Lda, ic, pc, mc, kc, kern.MR, ws.A);
            int* kept = null;
            if (p.SkipZeroColumns && kern.FnSkip != null)
            {
                kept = ws.ReserveIndex(mc, kc, kern.MR);
                GemmZeroColumns.Find(ws.A, mc, kc, kern.MR, kept, ws.Index);
            }
            Tiles(in p, m1, ic, mc, jc, nc, pc, kc, ws.A, packB, bStride, ws, kept, ws.Index);
        }
        if (p.Update.Active) GemmUpdate.Report(in p.Update, ws.Check);
    }

    /// <summary>
    /// The tiles of rows [ic, ic+mc) × columns [jc, jc+nc) of C for one pass over k: the packed mc×kc block of op(A)
    /// at <paramref name="packA"/> times the kc×nc block of op(B) (as <see cref="Block"/>, which packs A itself; a
    /// product split by columns packs each A block once for all its parts, <c>GemmJob</c>). <paramref name="m1"/> is
    /// the end of the caller's rows (for the update's prefetch); with an update the caller clears and reports the
    /// workspace's check. <paramref name="kept"/> (or null: all dense): per A panel, the k steps it was compacted to
    /// (their indices kc apart from <paramref name="index"/>), or −1 for a dense panel
    /// (<see cref="GemmZeroColumns.Find"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tiles(in GemmProblem p, int m1, int ic, int mc, int jc, int nc, int pc, int kc, float* packA,
        float* packB, int bStride, GemmWorkspace ws, int* kept = null, int* index = null)
    {
        var kern = p.Kernel;
        int MR = kern.MR, NR = kern.NR;
        float* tile = ws.Tile;
        float beta = pc == 0 ? p.Beta : 1f;
        bool epilogue = pc + kc == p.K && (p.Bias != null || p.Activation != Activation.Identity);
        bool update = p.Update.Active;
        float* check = ws.Check;
        bool inRegisters = epilogue && !UseRegisterEpilogueOff && kern.FnEpilogue != null
            && p.Activation is Activation.Identity or Activation.Relu;
        bool streamB = BInPlace(in p) && (long)kc * nc > StreamedBlockFloats && !StreamHintOff;
        for (int jr = 0; jr < nc; jr += NR)
        {
            int nr = Math.Min(NR, nc - jr);
            float* pb = packB + (nint)(jr / NR) * bStride;
            for (int ir = 0; ir < mc; ir += MR)
            {
                int mr = Math.Min(MR, mc - ir);
                float* pa = packA + (nint)ir * kc;
                if (update)
                {
                    nint off = GemmPanels.Offset(p.M, ic + ir, jc + jr);
                    ref readonly var u = ref p.Update;
                    if (mr == MR && nr == NR && kern.FnSgd != null)
                    {
                        nint following = NextTile(in p, kern, m1, ic, mc, ir, jc, nc, jr);
                        kern.FnSgd(kc, pa, pb, u.M == null ? null : u.M + off, u.W + off,
                            u.NewM == null ? null : u.NewM + off, u.NewW + off, u.Mu, u.Lr, check,
                            following < 0 ? 0 : following - off);
                    }
                    else
                    {
                        TileKernel(in kern, mr, nr, out _)(kc, pa, pb, tile, NR, 1f, 0f, null, 0);
                        GemmUpdate.ApplyTile(in u, tile, NR, mr, nr, off, check);
                    }
                    continue;
                }
                float* c = p.CPanels
                    ? p.C + GemmPanels.Offset(p.M, ic + ir, jc + jr)
                    : p.C + (nint)(ic + ir) * p.Ldc + jc + jr;
                float* next = null;
                int nextRows = 0;
                if (streamB && mr == MR && nr == NR)
                    next = (jr + NR < nc ? pb + bStride : packB)
                        + (nint)NextPanelShare(kc, mc / MR, ir / MR, out nextRows) * NR;
                if (kept != null && mr == MR && kept[ir / MR] >= 0)
                {
                    Skipped(in p, kern, kept[ir / MR], index + (nint)(ir / MR) * kc, pa, pb, c, nr, beta,
                        inRegisters, jc + jr, tile);
                    if (inRegisters && nr == NR) continue; // the epilogue ran in registers
                }
                else if (mr == MR && nr == NR && inRegisters)
                {
                    kern.FnEpilogue(kc, pa, pb, c, p.Ldc, p.Alpha, beta, p.Bias == null ? null : p.Bias + jc + jr,
                        p.Activation == Activation.Relu, next, nextRows);
                    continue;
                }
                else if (mr == MR && nr == NR)
                    kern.Fn(kc, pa, pb, c, p.Ldc, p.Alpha, beta, next, nextRows);
                else
                    Edge(in kern, kc, pa, pb, c, p.Ldc, mr, nr, p.Alpha, beta, tile);
                if (epilogue)
                    for (int i = 0; i < mr; i++)
                        Epilogue.Apply(new Span<float>(c + (nint)i * p.Ldc, nr),
                            p.Bias == null ? null : p.Bias + jc + jr, p.Activation);
            }
        }
    }

    /// <summary>A tile of full rows over a compacted A panel (<paramref name="kept"/> steps, B rows at
    /// <paramref name="index"/>): as the dense path computes it, bit for bit. A full tile runs the skipping kernel with
    /// the epilogue in registers when the dense one would (<paramref name="inRegisters"/>); a narrower one (nr &lt; NR:
    /// the packed B panel is zero-padded to NR) runs it into the scratch tile and merges as the dense edge path would,
    /// with one rounding (<see cref="TileKernel"/>'s exact kernels) or two (<see cref="MergeEdge"/>).</summary>
    private static void Skipped(in GemmProblem p, in MicroKernel kern, int kept, int* index, float* pa, float* pb,
        float* c, int nr, float beta, bool inRegisters, int col, float* tile)
    {
        if (nr == kern.NR)
        {
            kern.FnSkip(kept, index, pa, pb, c, p.Ldc, p.Alpha, beta,
                inRegisters && p.Bias != null ? p.Bias + col : null, inRegisters && p.Activation == Activation.Relu);
            return;
        }
        kern.FnSkip(kept, index, pa, pb, tile, kern.NR, 1f, 0f, null, false);
        TileKernel(in kern, kern.MR, nr, out bool exact);
        if (!exact)
        {
            MergeEdge(tile, kern.NR, c, p.Ldc, kern.MR, nr, p.Alpha, beta);
            return;
        }
        float alpha = p.Alpha;
        for (int i = 0; i < kern.MR; i++)
        {
            float* t = tile + i * kern.NR;
            float* ci = c + i * p.Ldc;
            if (beta == 0f) for (int j = 0; j < nr; j++) ci[j] = alpha * t[j];
            else for (int j = 0; j < nr; j++) ci[j] = MathF.FusedMultiplyAdd(alpha, t[j], beta * ci[j]);
        }
    }

    /// <summary>True runs every product started on this thread densely (no <see cref="GemmZeroColumns"/>): for A/B
    /// benchmarks and tests.</summary>
    [ThreadStatic] internal static bool ZeroColumnsOff;

    /// <summary>Above this many floats (1 MiB, a Zen 5 core's L2) an in-place kc×nc block of B streams from L3 or
    /// memory while its first row tile reads each micro-panel: the full tiles then prefetch the next
    /// micro-panel between them.</summary>
    private const long StreamedBlockFloats = 256 << 10;

    /// <summary>
    /// The rows [first, first + rows) of the next B micro-panel (kc rows) that full tile <paramref name="tile"/> of the
    /// <paramref name="tiles"/> in a column fetches during its first k steps: an equal share each, so the panel arrives
    /// spread over the tiles that read the current one rather than all at once. Measured (1 thread, best of 14,
    /// weights in panels evicted before each call): 256×1024×1024 2874 → 2741 µs, 256×1024×784 2329 → 2174 µs, warm
    /// −1%; the deep network's step −0.5% to −2.7% (interleaved in one process); the same prefetch for packed or
    /// cache-resident B blocks measured no gain (square 512–2048, the 784-256-10 MLP).
    /// </summary>
    internal static int NextPanelShare(int kc, int tiles, int tile, out int rows)
    {
        int share = (kc + tiles - 1) / tiles, first = tile * share;
        rows = Math.Clamp(kc - first, 0, share);
        return first;
    }

    /// <summary>True turns the prefetch of in-place B panels off on every thread
    /// (<see cref="NextPanelShare"/>); for A/B benchmarks.</summary>
    internal static bool StreamHintOff;

    /// <summary>The panel-layout offset of the tile this band updates after the one at (ic + ir, jc + jr), for the
    /// kernel to prefetch its w, m, w' and m': the next one down the micro-panel, else the block's first in the next
    /// micro-panel, else the next block's first; −1 after the last.</summary>
    private static nint NextTile(in GemmProblem p, in MicroKernel kern, int m1, int ic, int mc, int ir, int jc, int nc,
        int jr)
    {
        if (ir + kern.MR < mc) return GemmPanels.Offset(p.M, ic + ir + kern.MR, jc + jr);
        if (jr + kern.NR < nc) return GemmPanels.Offset(p.M, ic, jc + jr + kern.NR);
        if (ic + kern.MC < m1) return GemmPanels.Offset(p.M, ic + kern.MC, jc);
        return -1;
    }

    /// <summary>True sends every epilogue to the stored tile on this thread's blocks (default false: full tiles apply a
    /// bias and relu in registers); for A/B benchmarks and tests.</summary>
    [ThreadStatic] internal static bool UseRegisterEpilogueOff;

    /// <summary>Edge kernels on (the default; false runs every edge tile through the full kernel,
    /// for A/B benchmarks).</summary>
    internal static bool UseEdgeKernels = true;

    /// <summary>An mr×nr edge tile (mr &lt; MR or nr &lt; NR) of C: the smallest kernel that covers it, straight into C
    /// when it covers exactly the tile's columns, else into the scratch tile and merged.</summary>
    private static void Edge(in MicroKernel kern, int kc, float* pa, float* pb, float* c, nint ldc, int mr, int nr,
        float alpha, float beta, float* tile)
    {
        var fn = TileKernel(in kern, mr, nr, out bool exact);
        if (exact) fn(kc, pa, pb, c, ldc, alpha, beta, null, 0);
        else
        {
            fn(kc, pa, pb, tile, kern.NR, 1f, 0f, null, 0);
            MergeEdge(tile, kern.NR, c, ldc, mr, nr, alpha, beta);
        }
    }

    /// <summary>The smallest kernel that covers an mr×nr tile (full or edge); <paramref name="exact"/> when it writes
    /// exactly the tile's columns, so it can store straight into C.</summary>
    private static delegate*<int, float*, float*, float*, nint, float, float, float*, int, void> TileKernel(
        in MicroKernel kern, int mr, int nr, out bool exact)
    {
        exact = false;
        if (UseEdgeKernels && kern.EdgeHalf != null && 2 * nr <= kern.NR)
        {
            exact = 2 * nr == kern.NR;
            return kern.EdgeHalf[mr];
        }
        if (UseEdgeKernels && kern.EdgeRows != null && mr < kern.MR)
        {
            exact = nr == kern.NR;
            return kern.EdgeRows[mr];
        }
        return kern.Fn;
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
/// reused by every later one (grown only when a product needs more). Freed when the thread ends.
/// </summary>
internal sealed unsafe class GemmWorkspace
{
    [ThreadStatic] private static GemmWorkspace? t_ws;
    public float* A, B, Tile, Check;
    /// <summary>Per A panel of a block, its kept k steps' count and their indices (<see cref="GemmZeroColumns"/>),
    /// allocated by the first product that skips.</summary>
    public int* Kept, Index;
    private nuint _aLen, _bLen, _indexLen, _keptLen;

    /// <summary>The floats <see cref="A"/> holds.</summary>
    internal nuint ACapacity => _aLen;

    /// <summary><see cref="Kept"/> and <see cref="Index"/> with room for an mc×kc block of mr-row panels;
    /// returns <see cref="Kept"/>.</summary>
    public int* ReserveIndex(int mc, int kc, int mr)
    {
        nuint panels = (nuint)((mc + mr - 1) / mr), len = panels * (nuint)kc;
        if (_indexLen < len) { Index = (int*)Realloc((float*)Index, len); _indexLen = len; }
        if (_keptLen < panels) { Kept = (int*)Realloc((float*)Kept, panels); _keptLen = panels; }
        return Kept;
    }

    /// <summary>This thread's workspace, with room for an mc×kc A block and a packed B block of
    /// <paramref name="bLen"/> floats.</summary>
    public static GemmWorkspace For(int mc, int kc, nuint bLen)
    {
        var ws = t_ws ??= new GemmWorkspace();
        // room for the deepest pass at once: only the part a product packs is ever touched, and a later product's
        // deeper pass does not get fresh memory (issue #18: `nn predict`'s mnist_mlp packed A at pass depths 392 and
        // then 512, ~150 page faults of its forward, ~23 µs each on this project's virtual machines, instead of ~90)
        nuint aLen = (nuint)mc * (nuint)Math.Max(kc, MicroKernel.DeepestPass);
        if (ws._aLen < aLen) { ws.A = Realloc(ws.A, aLen); ws._aLen = aLen; }
        if (ws._bLen < bLen) { ws.B = Realloc(ws.B, bLen); ws._bLen = bLen; }
        if (ws.Tile == null) ws.Tile = Realloc(null, 32 * 32);
        if (ws.Check == null) ws.Check = Realloc(null, 16);
        return ws;
    }

    /// <summary>A fresh 64-byte aligned block of <paramref name="floats"/> floats, after freeing
    /// <paramref name="old"/>.</summary>
    public static float* Realloc(float* old, nuint floats)
    {
        if (old != null) NativeMemory.AlignedFree(old);
        return (float*)NativeMemory.AlignedAlloc(Math.Max(floats, 1) * sizeof(float), 64);
    }

    ~GemmWorkspace()
    {
        if (A != null) NativeMemory.AlignedFree(A);
        if (B != null) NativeMemory.AlignedFree(B);
        if (Tile != null) NativeMemory.AlignedFree(Tile);
        if (Check != null) NativeMemory.AlignedFree(Check);
        if (Index != null) NativeMemory.AlignedFree(Index);
        if (Kept != null) NativeMemory.AlignedFree(Kept);
    }
}
