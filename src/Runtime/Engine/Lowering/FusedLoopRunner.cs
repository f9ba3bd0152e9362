using System.Runtime.InteropServices;
using Nn.Runtime.IR;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.Engine.Lowering;

/// <summary>Where a fused op reads an operand from, within a tile starting at element <c>start</c>.</summary>
internal enum Access
{
    /// <summary>A register tile of the loop (an unstored member, or a gathered broadcast operand).</summary>
    Register,
    /// <summary>A buffer of the loop's shape: elements [start, start + len).</summary>
    Full,
    /// <summary>A constant.</summary>
    Constant,
    /// <summary>Element 0 of a one-element buffer (read per tile: it may change per step, like the learning
    /// rate).</summary>
    BufferScalar,
}

internal struct Operand
{
    public Access Kind;
    public int Index;
    public float Value;
}

internal struct Instr
{
    /// <summary>The op's fused tile function (its definition) and operand count (1 to 3), set through
    /// <see cref="Op"/>.</summary>
    public IFusedTile Tile;
    public int Arity;
    /// <summary>The op.</summary>
    public OpKind Op
    {
        readonly get => ((Primitive)Tile).Kind;
        set
        {
            var p = Primitives.Of(value);
            Tile = p as IFusedTile ?? throw Throw.Bug($"{value} is not an op of fused loops");
            Arity = p.Arity;
        }
    }
    public float Alpha;
    public Operand A, B, C;
    public bool Store, Check;
    /// <summary>A store written with non-temporal stores (<see cref="StreamedStores"/>) when the loop splits.</summary>
    public bool Stream;
    public int Dst; // slot when stored, else register
}

/// <summary>How a gathered operand repeats over the loop's shape.</summary>
internal sealed class GatherSpec
{
    public int Slot, Register;
    /// <summary>Row (0): index = i mod Length. Column (1): index = i / Repeat. Map (2): index = Map[i]. Block (3, a
    /// slice): index = (i / Length)·Repeat + Offset + i mod Length.</summary>
    public int Kind, Length, Repeat, Offset;
    public int[]? Map;

    public void Fill(float[] src, int start, Span<float> dst)
    {
        switch (Kind)
        {
            case 0:
                for (int i = 0, pos = start % Length; i < dst.Length;)
                {
                    int run = Math.Min(Length - pos, dst.Length - i);
                    src.AsSpan(pos, run).CopyTo(dst.Slice(i, run));
                    i += run; pos = 0;
                }
                break;
            case 1:
                for (int i = 0, at = start; i < dst.Length;)
                {
                    int idx = at / Repeat, run = Math.Min(Repeat - at % Repeat, dst.Length - i);
                    dst.Slice(i, run).Fill(src[idx]);
                    i += run; at += run;
                }
                break;
            case 3:
                for (int i = 0, at = start; i < dst.Length;)
                {
                    int row = at / Length, col = at - row * Length, run = Math.Min(Length - col, dst.Length - i);
                    src.AsSpan(row * Repeat + Offset + col, run).CopyTo(dst.Slice(i, run));
                    i += run; at += run;
                }
                break;
            default:
                for (int i = 0; i < dst.Length; i++) dst[i] = src[Map![start + i]];
                break;
        }
    }
}

/// <summary>
/// Runs a fused loop tile by tile: per tile, broadcast operands are gathered into registers, then each op runs over
/// the tile with the kernel library's vector drivers, reading registers or buffer slices and writing a register
/// (stays in L1) or, for stored values, the destination buffer. With two threads the loop splits in halves at a row
/// of its first axis (as the batch's rows are split when they are gathered), else at a tile; a split loop writes the
/// values of <see cref="StreamedStores"/> through a register with non-temporal stores.
/// Stores are ordinary: streaming each op's tile (2048 floats) with non-temporal stores measured slower on the 8M-float
/// optimizer-update chain (37–41% of copy bandwidth against 46–54%), unlike one streaming pass over whole arrays
/// (the kernels' drivers, see Elementwise.NonTemporalThreshold).
/// </summary>
internal sealed class FusedLoopRunner : IParallelWork
{
    private readonly float[][] _slots;
    private readonly Instr[] _code;
    private readonly GatherSpec[] _gathers;
    private readonly float[][][] _registers; // per part
    private readonly float[][] _streamed; // per part, the register a streamed store is computed into
    private readonly int _length, _tile, _parts, _rows;
    private bool _bad;

    /// <summary>A loop of <paramref name="length"/> elements; <paramref name="rows"/> is the length of its first axis
    /// (0 for a vector or a scalar; for values in column bands, the bands); <paramref name="always"/> splits it
    /// over the threads however short.</summary>
    public FusedLoopRunner(float[][] slots, Instr[] code, GatherSpec[] gathers, int registers, int length, int threads,
        int rows = 0, bool always = false)
    {
        _slots = slots; _code = code; _gathers = gathers; _length = length;
        _tile = Math.Clamp(8192 / Math.Max(registers, 1) / 64 * 64, 256, 2048);
        _parts = threads > 1 && (always || length >= MinParallelLength) ? threads : 1;
        _rows = rows >= _parts && rows > 0 && length % rows == 0 ? rows : 0;
        Banded = always && _parts == 2 && _rows == 2;
        bool streams = _parts > 1 && code.Any(i => i.Store && i.Stream);
        _registers = new float[_parts][][];
        _streamed = new float[streams ? _parts : 0][];
        for (int p = 0; p < _parts; p++)
        {
            _registers[p] = new float[registers][];
            for (int r = 0; r < registers; r++) _registers[p][r] = new float[Math.Min(_tile, Math.Max(length, 1))];
            if (streams) _streamed[p] = new float[Math.Min(_tile, Math.Max(length, 1))];
        }
    }

    /// <summary>How many of the loop's stores stream (tests).</summary>
    internal int StreamedStoreCount => _streamed.Length > 0 ? _code.Count(i => i.Store && i.Stream) : 0;

    /// <summary>Loops at least this long split over the threads (bind time): 8,192 floats, two tiles or more per
    /// thread, a few microseconds of work against a spinning hand-off's fraction of one (<see cref="WorkerPool"/>).
    /// Settable for A/B benchmarks (32,768 before the hand-offs spun).</summary>
    internal static int MinParallelLength = 1 << 13;

    /// <summary>Set when a checked store saw NaN or infinity.</summary>
    public bool SawNonFinite => _bad;

    /// <summary>Clears the check before a run made of parts (<see cref="BandChains"/>).</summary>
    public void Clear() => _bad = false;

    /// <summary>Whether the loop splits at the column bands' boundary on two parts (a band chain's parts).</summary>
    public bool Banded { get; }

    public void Run()
    {
        _bad = false;
        if (_parts > 1) WorkerPool.Shared.Run(this, _parts);
        else Range(0, _length, _registers[0], null);
    }

    public void Execute(int index, int count)
    {
        int lo, hi;
        if (_rows > 0 && count > 1)
        {
            // at a row: the batch's rows are gathered the same way (Trainer's RowCopy), each thread reads its own
            int size = _length / _rows;
            lo = (int)((long)_rows * index / count) * size;
            hi = (int)((long)_rows * (index + 1) / count) * size;
        }
        else
        {
            int tiles = (_length + _tile - 1) / _tile;
            lo = (int)((long)tiles * index / count) * _tile;
            hi = Math.Min((int)((long)tiles * (index + 1) / count) * _tile, _length);
        }
        if (lo < hi) Range(lo, hi, _registers[index], _streamed.Length > 0 && count > 1 ? _streamed[index] : null);
    }

    private void Range(int lo, int hi, float[][] regs, float[]? streamed)
    {
        for (int start = lo; start < hi; start += _tile) Tile(start, Math.Min(_tile, hi - start), regs, streamed);
        // the streamed stores are weakly ordered: visible to the other threads before this part reports done
        if (streamed is not null) Elementwise.StoreFence();
    }

    private void Tile(int start, int len, float[][] regs, float[]? streamed)
    {
        foreach (var g in _gathers) g.Fill(_slots[g.Slot], start, regs[g.Register].AsSpan(0, len));
        var code = _code;
        nuint n = (nuint)len;
        for (int i = 0; i < code.Length; i++)
        {
            ref readonly var ins = ref code[i];
            bool stream = ins.Stream && streamed is not null;
            ref float d = ref MemoryMarshal.GetReference(stream ? streamed.AsSpan(0, len)
                : ins.Store ? _slots[ins.Dst].AsSpan(start, len) : regs[ins.Dst].AsSpan(0, len));
            var a = Get(ins.A, start, len, regs);
            // one virtual call per tile: the definition runs its kernel over the whole tile
            if (ins.Arity == 1) ins.Tile.Tile(a, default, default, ins.Alpha, ref d, n);
            else if (ins.Arity == 2) ins.Tile.Tile(a, Get(ins.B, start, len, regs), default, ins.Alpha, ref d, n);
            else ins.Tile.Tile(a, Get(ins.B, start, len, regs), Get(ins.C, start, len, regs), ins.Alpha, ref d, n);
            if (ins.Check && !ElementOps.AllFinite(MemoryMarshal.CreateReadOnlySpan(ref d, len))) _bad = true;
            if (stream) Elementwise.CopyStreaming(streamed.AsSpan(0, len), _slots[ins.Dst].AsSpan(start, len));
        }
    }

    /// <summary>An operand of the tile [start, start + len): a register, a buffer slice, a constant or a one-element
    /// buffer's value.</summary>
    private Arg Get(in Operand o, int start, int len, float[][] regs) => o.Kind switch
    {
        Access.Register => new Arg(ref MemoryMarshal.GetReference(regs[o.Index].AsSpan(0, len))),
        Access.Full => new Arg(ref MemoryMarshal.GetReference(_slots[o.Index].AsSpan(start, len))),
        Access.Constant => new Arg(o.Value),
        _ => new Arg(_slots[o.Index][0]),
    };
}
