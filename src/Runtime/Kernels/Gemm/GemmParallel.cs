using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nn.Runtime.Kernels;

/// <summary>
/// Splits a product over the worker pool. When C has enough rows, the parts split C's rows and share each packed
/// kc×nc block of op(B): every part packs a share of its column panels into a buffer both read (from the shared L3),
/// waits for the others, then multiplies its own rows, packing its own A blocks. Two B buffers alternate, so one
/// barrier per block suffices (a part starts packing block t+1 only after every part finished packing block t,
/// hence finished multiplying block t−1, the buffer's previous contents). Short, wide products instead split C's
/// columns into independent sub-products.
/// </summary>
internal sealed unsafe class GemmJob : IParallelWork
{
    [ThreadStatic] private static GemmJob? t_job;
    private GemmProblem _p;
    private bool _busy, _sharedB, _sharedA;
    private readonly SpinBarrier _barrier = new();
    private float* _b0, _b1, _a0, _a1;
    /// <summary>The shared A blocks' kept k steps per panel and their indices
    /// (<see cref="GemmZeroColumns"/>).</summary>
    private int* _kept0, _kept1, _index0, _index1;
    private nuint _bLen, _aLen, _keptLen;

    public static void Run(in GemmProblem p, int parts)
    {
        var job = t_job ??= new GemmJob();
        if (job._busy) job = new GemmJob(); // a product started from inside another one's part
        job._p = p;
        // Parts wait for each other only if they run at once (not from inside another job's part,
        // where the pool runs them in turn).
        int n = Math.Min(parts, WorkerPool.Shared.MaxThreads);
        job._sharedB = !p.Bands.Active && !WorkerPool.InsidePart && !KeepsWeightColumns(in p, n)
            && RowsSplitIsCheaper(in p, n);
        // the parts' shared packed B blocks (none when B is read in place)
        if (job._sharedB && !GemmDriver.BInPlace(in p))
        {
            var k = p.Kernel;
            nuint len = GemmPacking.PackedBLength(k.PassDepth(p.K), Math.Min(k.NC, p.N), k.NR);
            if (job._bLen < len)
            {
                job._b0 = GemmWorkspace.Realloc(job._b0, len);
                job._b1 = GemmWorkspace.Realloc(job._b1, len);
                job._bLen = len;
            }
        }
        // a columns split shares the packed A blocks instead (each part packs a share of every block)
        job._sharedA = !p.Bands.Active && !WorkerPool.InsidePart && !job._sharedB && SharesA(in p, n);
        if (job._sharedA)
        {
            var k = p.Kernel;
            nuint len = (nuint)Math.Min(k.MC, (p.M + k.MR - 1) / k.MR * k.MR) * (nuint)k.PassDepth(p.K);
            if (job._aLen < len)
            {
                job._a0 = GemmWorkspace.Realloc(job._a0, len);
                job._a1 = GemmWorkspace.Realloc(job._a1, len);
                job._aLen = len;
            }
            nuint panels = (nuint)(k.MC / k.MR);
            if (p.SkipZeroColumns && job._keptLen < panels * (nuint)k.PassDepth(p.K))
            {
                job._keptLen = panels * (nuint)k.PassDepth(p.K);
                job._kept0 = (int*)GemmWorkspace.Realloc((float*)job._kept0, panels);
                job._kept1 = (int*)GemmWorkspace.Realloc((float*)job._kept1, panels);
                job._index0 = (int*)GemmWorkspace.Realloc((float*)job._index0, job._keptLen);
                job._index1 = (int*)GemmWorkspace.Realloc((float*)job._index1, job._keptLen);
            }
        }
        job._busy = true;
        try { WorkerPool.Shared.Run(job, parts); }
        finally { job._busy = false; }
    }

    /// <summary>True splits every product by <see cref="RowsSplitIsCheaper"/> alone (A/B benchmarks).</summary>
    internal static bool WeightColumnsOff;

    /// <summary>
    /// Whether a product that reads a weight in place (B in panel layout) or updates one (a weight gradient with its
    /// update in the product) splits C's columns, at the 32-column panels both products split the same way: part i
    /// (always the same thread, <see cref="WorkerPool.Run"/>) then reads in the forward pass the weight columns it
    /// wrote in the last step's update, from its own core's cache, instead of half the weights (and, with momentum,
    /// their velocities) moving between cores every step. Only when each part gets at least two panels and its share
    /// of the weight fits in a core's L2 (1 MiB on Zen 5; larger weights stream from L3 whichever core wrote them).
    /// </summary>
    private static bool KeepsWeightColumns(in GemmProblem p, int parts)
    {
        if (WeightColumnsOff || parts < 2 || p.N < 2 * parts * GemmPanels.Width) return false;
        long rows = p.Update.Active ? p.M : GemmDriver.BInPlace(in p) ? p.K : 0;
        return rows > 0 && rows * p.N / parts <= WeightShareFloats;
    }

    /// <summary>A part's share of a weight that stays in its core's cache: 1 MiB of floats.</summary>
    private const long WeightShareFloats = 256 << 10;

    /// <summary>
    /// Whether splitting C's rows (packed B shared) costs the slowest part less than splitting its columns (packed A
    /// shared, SharedA): the busiest part's micro-tiles plus its packing, one packed float counted as ~30 flops
    /// (packing moves ~6 G floats/s, a core multiplies at ~190 GFLOP/s). A short C with many column panels (an
    /// MLP's batch of 256 rows times 1024 columns: 19 row tiles split 10/9, 32 column
    /// panels split 16/16) splits columns.
    /// </summary>
    private static bool RowsSplitIsCheaper(in GemmProblem p, int parts)
    {
        int mr = p.Kernel.MR, nr = p.Kernel.NR;
        if (parts < 2 || p.M < parts * mr * 2) return false;
        long tm = (p.M + mr - 1) / mr, tn = (p.N + nr - 1) / nr;
        // With edge kernels the last r < mr rows cost about r/mr of a tile, so C's height counts fractionally
        // (batch 128 = 9·14 + 2 on two threads: rows split 70/58, columns 16/16 panels of 9.14 tiles: columns win).
        bool edge = GemmDriver.UseEdgeKernels && p.Kernel.EdgeRows != null;
        double tmAll = edge ? (double)p.M / mr : tm, tmPart = 0;
        for (int i = 0; i < parts; i++)
        {
            var (m0, m1) = Band(p.M, mr, i, parts);
            tmPart = Math.Max(tmPart, edge ? (double)(m1 - m0) / mr : (m1 - m0 + mr - 1) / mr);
        }
        double tile = 2.0 * mr * nr * p.K, pack = 30.0 * p.K;
        double rows = tmPart * tn * tile + pack * ((double)p.M + p.N) / parts;
        // a columns split packs a share of A (SharedA) unless its parts are too wide for one block of B (counted so
        // also when its blocks are too small to share, SharesA: there the packing costs about what sharing would)
        double packA = SharedAOff || (tn + parts - 1) / parts * nr > p.Kernel.NC ? p.M : (double)p.M / parts;
        double cols = (tn + parts - 1) / parts * tmAll * tile + pack * (packA + (double)p.N / parts);
        return rows <= cols;
    }

    public void Execute(int index, int count)
    {
        ref readonly var p = ref _p;
        if (p.Bands.Active)
        {
            // part i computes band i (all of them in turn on one part)
            for (int band = index; band < p.Bands.Count; band += count) GemmBands.Run(in p, band);
        }
        else if (count == 1) GemmDriver.Run(in p, 0, p.M, 0, p.N);
        else if (_sharedB) SharedB(in p, index, count);
        else if (_sharedA) SharedA(in p, index, count);
        else
        {
            var (lo, hi) = Band(p.N, p.Kernel.NR, index, count);
            if (lo < hi) GemmDriver.Run(in p, 0, p.M, lo, hi);
        }
    }

    /// <summary>Part <paramref name="index"/>'s rows of C, with the packed B blocks built
    /// by all parts together.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SharedB(in GemmProblem p, int index, int count)
    {
        var kern = p.Kernel;
        int NR = kern.NR, kcMax = kern.PassDepth(p.K);
        var (m0, m1) = Band(p.M, kern.MR, index, count);
        var ws = GemmWorkspace.For(kern.MC, kcMax, 0);
        _barrier.Reset(count);
        int block = 0;
        for (int jc = 0; jc < p.N; jc += kern.NC)
        {
            int nc = Math.Min(kern.NC, p.N - jc);
            for (int pc = 0; pc < p.K; pc += kcMax, block++)
            {
                int kc = Math.Min(kcMax, p.K - pc);
                if (GemmDriver.BInPlace(in p))
                {
                    if (m0 < m1)
                        GemmDriver.Block(in p, m0, m1, jc, nc, pc, kc, GemmDriver.InPlaceB(in p, pc, jc),
                            GemmDriver.InPlaceStride(in p), ws);
                    continue;
                }
                float* packB = (block & 1) == 0 ? _b0 : _b1;
                var (j0, j1) = Band(nc, NR, index, count);
                if (j0 < j1)
                    GemmPacking.PackB(in p, pc, jc + j0, kc, j1 - j0, NR,
                        packB + (nint)(j0 / NR) * GemmPacking.PanelStride(kc, NR));
                _barrier.SignalAndWait();
                if (m0 < m1) GemmDriver.Block(in p, m0, m1, jc, nc, pc, kc, packB, GemmPacking.PanelStride(kc, NR), ws);
            }
        }
    }

    /// <summary>True gives every part of a columns split its own packed A blocks, as before they were shared
    /// (A/B benchmarks).</summary>
    internal static bool SharedAOff;

    /// <summary>True shares the packed A blocks of a columns split however little work each block holds, as before
    /// <see cref="SharedABlockMultiplyAdds"/> (A/B benchmarks).</summary>
    internal static bool SharedASmallBlocks;

    /// <summary>
    /// Whether the parts of a columns split share the packed A blocks (<see cref="SharedA"/>): only when each part's
    /// columns fit one block of B and each block gives every part at least <see cref="SharedABlockMultiplyAdds"/> to
    /// do. Sharing saves each part packing the others' rows of A, but those rows then move between the cores (about
    /// the cost of packing them here: 2 vCPUs of a Zen 5 VM) and every block waits at a barrier for the slowest part's
    /// packing. On blocks of a few microseconds the waits cost more than the packing saved: the 784-256-10 weight
    /// gradient xᵀ·dZ (784×256, k = 64: five blocks of 1.4 M multiply-adds a part) took 66.0 µs with shared blocks
    /// and 62.5 µs without, in isolation on an idle machine; the forward x·W (one block of 3.5 M a pass) the same
    /// either way (59.6 / 59.3 µs); the deep network's products (blocks of 22 M and more) keep sharing.
    /// </summary>
    private static bool SharesA(in GemmProblem p, int parts)
    {
        var k = p.Kernel;
        if (SharedAOff || parts < 2) return false;
        int width = ((p.N + k.NR - 1) / k.NR + parts - 1) / parts * k.NR;
        if (width > k.NC) return false;
        long block = (long)Math.Min(k.MC, (p.M + k.MR - 1) / k.MR * k.MR) * k.PassDepth(p.K) * width;
        return SharedASmallBlocks || block >= SharedABlockMultiplyAdds;
    }

    /// <summary>The least work a part must get from each packed A block for the parts to share the
    /// blocks: 4 M multiply-adds (~40 µs on one core).</summary>
    internal const long SharedABlockMultiplyAdds = 1 << 22;

    /// <summary>Part <paramref name="index"/>'s columns of C (at most one kc×nc block of B wide), with each packed
    /// mc×kc block of A built by all parts together: every part packs a share of its micro-panels into a buffer all
    /// read, waits for the others, then multiplies its columns. Two A buffers alternate, as the B buffers of
    /// <see cref="SharedB"/> do; the tiles and their order over k are those of the unsplit product.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SharedA(in GemmProblem p, int index, int count)
    {
        var kern = p.Kernel;
        int MR = kern.MR, NR = kern.NR, kcMax = kern.PassDepth(p.K);
        var (n0, n1) = Band(p.N, NR, index, count);
        bool inPlace = GemmDriver.BInPlace(in p);
        var ws = GemmWorkspace.For(0, 0, inPlace ? 0 : GemmPacking.PackedBLength(kcMax, Math.Max(n1 - n0, 1), NR));
        _barrier.Reset(count);
        bool update = p.Update.Active, skip = p.SkipZeroColumns && kern.FnSkip != null;
        if (update) Vector512.Store(Vector512<float>.Zero, ws.Check);
        int block = 0;
        for (int pc = 0; pc < p.K; pc += kcMax)
        {
            int kc = Math.Min(kcMax, p.K - pc);
            float* packB = inPlace ? GemmDriver.InPlaceB(in p, pc, n0) : ws.B;
            int bStride = inPlace ? GemmDriver.InPlaceStride(in p) : GemmPacking.PanelStride(kc, NR);
            if (!inPlace && n0 < n1) GemmPacking.PackB(in p, pc, n0, kc, n1 - n0, NR, ws.B);
            for (int ic = 0; ic < p.M; ic += kern.MC, block++)
            {
                int mc = Math.Min(kern.MC, p.M - ic);
                float* packA = (block & 1) == 0 ? _a0 : _a1;
                int* kept = !skip ? null : (block & 1) == 0 ? _kept0 : _kept1;
                int* kIndex = (block & 1) == 0 ? _index0 : _index1;
                var (r0, r1) = Band(mc, MR, index, count);
                if (r0 < r1)
                {
                    GemmPacking.PackA(p.TransA, p.A, p.Lda, ic + r0, pc, r1 - r0, kc, MR, packA + (nint)r0 * kc);
                    // each part lists the steps of the panels it packed (its rows are whole panels)
                    if (skip)
                        GemmZeroColumns.Find(packA + (nint)r0 * kc, r1 - r0, kc, MR, kept + r0 / MR,
                            kIndex + (nint)(r0 / MR) * kc);
                }
                _barrier.SignalAndWait();
                if (n0 < n1)
                    GemmDriver.Tiles(in p, p.M, ic, mc, n0, n1 - n0, pc, kc, packA, packB, bStride, ws, kept, kIndex);
            }
        }
        if (update) GemmUpdate.Report(in p.Update, ws.Check);
    }

    /// <summary>Part <paramref name="index"/> of <paramref name="count"/> of [0, size) in whole units
    /// (the last may be short).</summary>
    private static (int, int) Band(int size, int unit, int index, int count)
    {
        int tiles = (size + unit - 1) / unit;
        int lo = (int)((long)tiles * index / count) * unit;
        int hi = (int)((long)tiles * (index + 1) / count) * unit;
        return (Math.Min(lo, size), Math.Min(hi, size));
    }

    ~GemmJob()
    {
        if (_b0 != null) System.Runtime.InteropServices.NativeMemory.AlignedFree(_b0);
        if (_b1 != null) System.Runtime.InteropServices.NativeMemory.AlignedFree(_b1);
        if (_a0 != null) System.Runtime.InteropServices.NativeMemory.AlignedFree(_a0);
        if (_a1 != null) System.Runtime.InteropServices.NativeMemory.AlignedFree(_a1);
        foreach (var q in new[] { (nint)_kept0, (nint)_kept1, (nint)_index0, (nint)_index1 })
            if (q != 0) System.Runtime.InteropServices.NativeMemory.AlignedFree((void*)q);
    }
}

/// <summary>A reusable barrier for the parts of one job: spins briefly, then yields (the machine
/// may be oversubscribed).</summary>
internal sealed class SpinBarrier
{
    private int _parties, _arrived, _generation;

    /// <summary>Sets the party count; every part calls it with the same value before its
    /// first wait (idempotent).</summary>
    public void Reset(int parties) => _parties = parties;

    public void SignalAndWait()
    {
        int gen = Volatile.Read(ref _generation);
        if (Interlocked.Increment(ref _arrived) == _parties)
        {
            _arrived = 0;
            Volatile.Write(ref _generation, gen + 1);
            return;
        }
        var spin = new SpinWait();
        while (Volatile.Read(ref _generation) == gen) spin.SpinOnce(sleep1Threshold: -1);
    }
}
