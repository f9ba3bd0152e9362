using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Nn.Runtime.Engine.Planning;
using Nn.Runtime.IR;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.Engine.Lowering;

/// <summary>
/// The SGD parameter updates as one streaming pass: a fused loop of exactly the form the optimizer builds,
/// <c>m' = μ·m + g; w' = w − lr·m'</c> (momentum) or <c>w' = w − lr·g</c> (plain), with μ and lr scalars, is run by
/// <see cref="UpdateRunner"/> instead of the generic tile-by-tile loop: every element is loaded once, both results
/// are computed in registers with the same operations in the same order (so the values are bit-identical) and
/// stored once, and the non-finite check is folded into the pass. Parameter updates are the largest elementwise
/// pass of a training step (three to five streams as long as the weights); measured in the per-kernel profile of
/// <c>bench training --profile</c>, this pass takes about half the generic loop's time. Without AVX-512 the
/// generic loop runs.
/// </summary>
internal static class UpdateKernels
{
    /// <summary>A runner for <paramref name="loop"/> when it has one of the update forms over full buffers, else
    /// null.</summary>
    public static UpdateRunner? TryBuild(FusedLoop loop, float[][] slots, int[] slotOf, int[][] shapes, long[] counts,
        bool[] isOutput, bool checkFinite, int threads)
    {
        long length = counts[loop.Ops[0].Node.Id];
        if (!Vector512.IsHardwareAccelerated || length == 0 || length > int.MaxValue) return null;
        var domain = shapes[loop.Ops[0].Node.Id];
        // A full operand: a stored buffer of the loop's elements in the same order.
        int Full(Node x) => slotOf[x.Id] >= 0 && counts[x.Id] == length &&
                            shapes[x.Id].SkipWhile(d => d == 1).SequenceEqual(domain.SkipWhile(d => d == 1))
                                ? slotOf[x.Id] : -1;
        // A scalar operand: a constant, or element 0 of a one-element buffer read per run (the learning rate).
        Scalar? ScalarOf(Node x)
        {
            var c = x;
            while (c.Op == OpKind.Reshape) c = c.Inputs[0];
            if (c.Op == OpKind.Const) return new Scalar(-1, Binder.ConstantValue(x));
            return slotOf[x.Id] >= 0 && counts[x.Id] == 1 ? new Scalar(slotOf[x.Id], 0f) : null;
        }
        if (SgdForm.Match(loop, x => ScalarOf(x) is not null, x => Full(x) >= 0) is not { } f) return null;
        bool check(FusedOp? op) => op is not null && checkFinite && isOutput[op.Node.Id];
        return new UpdateRunner(slots, (int)length, threads, Full(f.W), Full(f.G), f.M is null ? -1 : Full(f.M),
            slotOf[f.NewW.Node.Id], f.NewM is null ? -1 : slotOf[f.NewM.Node.Id], ScalarOf(f.Lr)!.Value,
            f.Mu is null ? default : ScalarOf(f.Mu)!.Value, check(f.NewW), check(f.NewM));
    }

    /// <summary>A scalar operand: <see cref="Value"/> when <see cref="Slot"/> is -1, else element 0 of that
    /// slot.</summary>
    internal readonly record struct Scalar(int Slot, float Value)
    {
        public float Read(float[][] slots) => Slot < 0 ? Value : slots[Slot][0];
    }
}

/// <summary>Runs one SGD update (see <see cref="UpdateKernels"/>), split in halves over two threads when
/// long.</summary>
internal sealed class UpdateRunner : IParallelWork
{
    private readonly float[][] _slots;
    private readonly int _length, _parts, _w, _g, _m, _newW, _newM;
    private readonly UpdateKernels.Scalar _lr, _mu;
    private readonly bool _checkW, _checkM;
    private bool _bad0, _bad1;

    public UpdateRunner(float[][] slots, int length, int threads, int w, int g, int m, int newW, int newM,
        UpdateKernels.Scalar lr, UpdateKernels.Scalar mu, bool checkW, bool checkM)
    {
        _slots = slots; _length = length; _w = w; _g = g; _m = m; _newW = newW; _newM = newM; _lr = lr; _mu = mu;
        _checkW = checkW; _checkM = checkM;
        _parts = threads > 1 && length >= 1 << 15 ? 2 : 1;
    }

    /// <summary>Set when a checked result was NaN or infinite.</summary>
    public bool SawNonFinite => _bad0 || _bad1;

    /// <summary>The slot of the gradient the update reads.</summary>
    public int Gradient => _g;

    /// <summary>Runs the update inside the weight gradient's product (<see cref="GemmUpdate.TryMultiply"/>), the
    /// gradient never stored; when the product cannot (more than one pass over k), runs <paramref name="product"/> into
    /// the gradient's slot and then the streaming pass.</summary>
    public void RunWith(GemmKernels.Operands o, Action product)
    {
        if (InProduct(o, -1, out bool bad))
        {
            _bad0 = bad;
            _bad1 = false;
            return;
        }
        product();
        Run();
    }

    /// <summary>Part <paramref name="index"/> of <see cref="RunWith"/> for a product over column bands
    /// (<see cref="BandChains"/>): the product's band <paramref name="index"/> with its tiles' update, or that band
    /// into the gradient's slot and then the same half of the streaming pass (a band's columns are a half of the
    /// weights in panel layout). Its check goes to the part's own flag (cleared by <see cref="Clear"/>).</summary>
    public void RunWithPart(GemmKernels.Operands o, int index, Action<int> productPart)
    {
        if (InProduct(o, index, out bool bad))
        {
            if (index == 0) _bad0 = bad;
            else _bad1 = bad;
            return;
        }
        productPart(index);
        Execute(index, ColumnBands.Count);
    }

    /// <summary>The update inside the product (<see cref="GemmUpdate.TryMultiply"/>; band <paramref name="band"/>
    /// alone when not -1): false when it cannot, <paramref name="bad"/> whether a checked result was not finite.
    /// </summary>
    private bool InProduct(GemmKernels.Operands o, int band, out bool bad)
    {
        var S = _slots;
        bool momentum = _m >= 0;
        bool done = GemmUpdate.TryMultiply(o.TransA, o.TransB, o.M, o.N, o.K, S[o.A].AsSpan(0, o.ALength), o.Lda,
            S[o.B].AsSpan(0, o.BLength), o.Ldb, o.BPanels, S[_w].AsSpan(0, _length),
            momentum ? S[_m].AsSpan(0, _length) : [], momentum ? _mu.Read(S) : 0f, _lr.Read(S),
            S[_newW].AsSpan(0, _length), momentum ? S[_newM].AsSpan(0, _length) : [], o.Threads, out bool nonFinite,
            o.Bands, band);
        bad = nonFinite && (_checkW || _checkM);
        return done;
    }

    /// <summary>Clears the checks before a run made of parts (<see cref="BandChains"/>).</summary>
    public void Clear() => _bad0 = _bad1 = false;

    /// <summary>Whether <see cref="Execute"/>'s halves on two parts are exact halves (a band chain's parts).</summary>
    public bool Halves => _length % 32 == 0;

    public void Run()
    {
        _bad0 = _bad1 = false;
        if (_parts > 1) WorkerPool.Shared.Run(this, _parts);
        else Execute(0, 1);
    }

    public void Execute(int index, int count)
    {
        int lo = (int)((long)_length * index / count) & ~15,
            hi = index == count - 1 ? _length : (int)((long)_length * (index + 1) / count) & ~15;
        if (lo >= hi) return;
        var S = _slots;
        float lr = _lr.Read(S);
        bool bad = _m < 0
            ? Plain(S[_w].AsSpan(lo, hi - lo), S[_g].AsSpan(lo, hi - lo), lr, S[_newW].AsSpan(lo, hi - lo), _checkW)
            : Momentum(S[_w].AsSpan(lo, hi - lo), S[_m].AsSpan(lo, hi - lo), S[_g].AsSpan(lo, hi - lo), _mu.Read(S), lr,
                S[_newW].AsSpan(lo, hi - lo), S[_newM].AsSpan(lo, hi - lo), _checkW, _checkM);
        if (index == 0) _bad0 = bad; else _bad1 = bad;
    }

    /// <summary>w' = w − lr·g; true when a checked w' is not finite.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Plain(ReadOnlySpan<float> w, ReadOnlySpan<float> g, float lr, Span<float> newW, bool check)
    {
        ref float pw = ref MemoryMarshal.GetReference(w), pg = ref MemoryMarshal.GetReference(g),
            pn = ref MemoryMarshal.GetReference(newW);
        var vlr = Vector512.Create(lr);
        var acc = Vector512<float>.Zero;
        int i = 0, n = w.Length;
        for (; i <= n - 16; i += 16)
        {
            var r = Vector512.LoadUnsafe(ref pw, (nuint)i) - vlr * Vector512.LoadUnsafe(ref pg, (nuint)i);
            r.StoreUnsafe(ref pn, (nuint)i);
            acc += r - r;
        }
        float tail = 0f;
        for (; i < n; i++) { float r = w[i] - lr * g[i]; newW[i] = r; tail += r - r; }
        return check && !(Vector512.Sum(acc) + tail == 0f);
    }

    /// <summary>m' = μ·m + g; w' = w − lr·m'; true when a checked result is not finite.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Momentum(ReadOnlySpan<float> w, ReadOnlySpan<float> m, ReadOnlySpan<float> g, float mu,
        float lr, Span<float> newW, Span<float> newM, bool checkW, bool checkM)
    {
        ref float pw = ref MemoryMarshal.GetReference(w), pm = ref MemoryMarshal.GetReference(m),
            pg = ref MemoryMarshal.GetReference(g);
        ref float nw = ref MemoryMarshal.GetReference(newW), nm = ref MemoryMarshal.GetReference(newM);
        var vmu = Vector512.Create(mu);
        var vlr = Vector512.Create(lr);
        Vector512<float> accW = Vector512<float>.Zero, accM = Vector512<float>.Zero;
        int i = 0, n = w.Length;
        for (; i <= n - 16; i += 16)
        {
            var b = vmu * Vector512.LoadUnsafe(ref pm, (nuint)i) + Vector512.LoadUnsafe(ref pg, (nuint)i);
            var r = Vector512.LoadUnsafe(ref pw, (nuint)i) - vlr * b;
            b.StoreUnsafe(ref nm, (nuint)i);
            r.StoreUnsafe(ref nw, (nuint)i);
            accM += b - b;
            accW += r - r;
        }
        float tailW = 0f, tailM = 0f;
        for (; i < n; i++)
        {
            float b = mu * m[i] + g[i], r = w[i] - lr * b;
            newM[i] = b; newW[i] = r;
            tailM += b - b; tailW += r - r;
        }
        return (checkW && !(Vector512.Sum(accW) + tailW == 0f)) || (checkM && !(Vector512.Sum(accM) + tailM == 0f));
    }
}
