using System.Runtime.CompilerServices;

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
    private bool _busy, _sharedB;
    private readonly SpinBarrier _barrier = new();
    private float* _b0, _b1;
    private nuint _bLen;

    public static void Run(in GemmProblem p, int parts)
    {
        var job = t_job ??= new GemmJob();
        if (job._busy) job = new GemmJob(); // a product started from inside another one's part
        job._p = p;
        // Parts wait for each other only if they run at once (not from inside another job's part,
        // where the pool runs them in turn).
        job._sharedB = !WorkerPool.InsidePart
            && RowsSplitIsCheaper(in p, Math.Min(parts, WorkerPool.Shared.MaxThreads));
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
        job._busy = true;
        try { WorkerPool.Shared.Run(job, parts); }
        finally { job._busy = false; }
    }

    /// <summary>
    /// Whether splitting C's rows (packed B shared) costs the slowest part less than splitting its columns (each part
    /// packs all of A): the busiest part's micro-tiles plus its packing, one packed float counted as ~30 flops
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
        double cols = (tn + parts - 1) / parts * tmAll * tile + pack * (p.M + (double)p.N / parts);
        return rows <= cols;
    }

    public void Execute(int index, int count)
    {
        ref readonly var p = ref _p;
        if (count == 1) GemmDriver.Run(in p, 0, p.M, 0, p.N);
        else if (_sharedB) SharedB(in p, index, count);
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
