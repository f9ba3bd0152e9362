namespace Nn.Runtime.Data;

/// <summary>
/// A dense float32 tensor in host memory, row-major (C order): the element at index (i0, i1, ...) is at
/// <c>((i0 * Shape[1] + i1) * Shape[2] + ...)</c>. Readers return this; the executor copies it where it needs it.
/// The first axis is the item axis (rows of a dataset).
/// </summary>
internal sealed class HostTensor
{
    /// <summary>The sizes of the axes (an empty array is a scalar).</summary>
    public int[] Shape { get; }

    /// <summary>The elements, row-major; its length is the product of <see cref="Shape"/>. A tensor read as unsigned
    /// bytes (<see cref="OfBytes"/>) widens them here once, when first asked, and keeps the floats from then on.
    /// </summary>
    public float[] Data => _data ?? Widened();

    /// <summary>The elements as unsigned bytes while the tensor holds them so (<see cref="OfBytes"/>: an IDX file of
    /// unsigned bytes) and no one has asked for <see cref="Data"/>; null otherwise. What the training rows are copied
    /// from, widened a batch at a time (issue #18: the 10,000 MNIST digits are 7.8 MB of bytes against 31 MB of
    /// floats, whose fresh pages cost a virtual machine of this kind 1.5–3 ms a megabyte to map).</summary>
    public byte[]? Bytes => _data is null ? _bytes : null;

    private float[]? _data;
    private byte[]? _bytes;

    /// <summary>A tensor over existing data (not copied).</summary>
    /// <exception cref="ArgumentException">when the data length is not the product of the shape</exception>
    public HostTensor(int[] shape, float[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        Shape = Checked(shape, data.Length);
        Length = data.Length;
        _data = data;
    }

    private HostTensor(int[] shape, byte[] bytes)
    {
        Shape = Checked(shape, bytes.Length);
        Length = bytes.Length;
        _bytes = bytes;
    }

    /// <summary>A tensor of the values 0..255 of existing bytes (not copied), which it holds as bytes until its
    /// <see cref="Data"/> is asked for.</summary>
    /// <exception cref="ArgumentException">when the data length is not the product of the shape</exception>
    public static HostTensor OfBytes(int[] shape, byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return new HostTensor(shape, bytes);
    }

    private static int[] Checked(int[] shape, int length)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long n = ElementCount(shape);
        if (n != length)
            throw new ArgumentException(
                $"shape {FormatShape(shape)} holds {n} elements but the data has {length}", "data");
        return shape;
    }

    /// <summary>The bytes widened to floats, once (two threads asking at once may both widen; one result is kept,
    /// the same values).</summary>
    private float[] Widened()
    {
        var bytes = _bytes!;
        var floats = HugePages.Uninitialized<float>(bytes.Length);
        Idx.Widen(bytes, floats);
        var kept = Interlocked.CompareExchange(ref _data, floats, null) ?? floats;
        _bytes = null;
        return kept;
    }

    /// <summary>Elements <paramref name="start"/> .. start + destination.Length - 1 as floats, widened from the bytes
    /// where the tensor holds them (the trainer's copy of the rows: no floats of the whole data).</summary>
    public void CopyElements(int start, Span<float> destination)
    {
        if (Bytes is { } bytes) Idx.Widen(bytes.AsSpan(start, destination.Length), destination);
        else Data.AsSpan(start, destination.Length).CopyTo(destination);
    }

    /// <summary>A tensor of zeros.</summary>
    public static HostTensor Zeros(params int[] shape) => new(shape, new float[checked((int)ElementCount(shape))]);

    /// <summary>The number of axes.</summary>
    public int Rank => Shape.Length;

    /// <summary>The number of elements.</summary>
    public int Length { get; }

    /// <summary>The number of items (size of the first axis); 1 for a scalar.</summary>
    public int Rows => Shape.Length == 0 ? 1 : Shape[0];

    /// <summary>The number of elements in one item (product of all axes but the first).</summary>
    public int RowSize => Shape.Length == 0 ? 1 : (int)ElementCount(Shape.AsSpan(1));

    /// <summary>The elements of item <paramref name="row"/> (a view, not a copy).</summary>
    public Span<float> Row(int row) => Data.AsSpan(row * RowSize, RowSize);

    /// <summary>The rows <paramref name="start"/> ..
    /// <paramref name="start"/>+<paramref name="count"/>-1, copied.</summary>
    public HostTensor SliceRows(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Rows)
            throw new ArgumentOutOfRangeException(nameof(count),
                $"rows {start}..{start + count - 1} are outside 0..{Rows - 1}");
        var shape = (int[])Shape.Clone();
        shape[0] = count;
        if (Bytes is { } bytes) return OfBytes(shape, bytes.AsSpan(start * RowSize, count * RowSize).ToArray());
        return new HostTensor(shape, Data.AsSpan(start * RowSize, count * RowSize).ToArray());
    }

    /// <summary>The rows listed in <paramref name="rows"/>, in that order, copied.</summary>
    public HostTensor GatherRows(ReadOnlySpan<int> rows)
    {
        var shape = (int[])Shape.Clone();
        shape[0] = rows.Length;
        int size = RowSize;
        if (Bytes is { } bytes)
        {
            var gathered = new byte[rows.Length * size];
            for (int i = 0; i < rows.Length; i++)
                bytes.AsSpan(rows[i] * size, size).CopyTo(gathered.AsSpan(i * size, size));
            return OfBytes(shape, gathered);
        }
        var data = new float[rows.Length * size];
        for (int i = 0; i < rows.Length; i++) Row(rows[i]).CopyTo(data.AsSpan(i * size, size));
        return new HostTensor(shape, data);
    }

    /// <summary>The largest count <see cref="ElementCount"/> returns: far beyond any array, small enough that
    /// multiplying it by an element size cannot overflow. Shapes read from corrupt files saturate here.</summary>
    public const long MaxElementCount = 1L << 48;

    /// <summary>The product of the sizes (1 for a scalar), saturating at <see cref="MaxElementCount"/>.</summary>
    public static long ElementCount(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative size {d} in a shape");
            n = Saturate(n, d);
        }
        return n;
    }

    /// <summary>n × d, or <see cref="MaxElementCount"/> when that is larger (0 stays 0
    /// even after saturating).</summary>
    internal static long Saturate(long n, long d) => d == 0 ? 0 : n > MaxElementCount / d ? MaxElementCount : n * d;

    /// <summary>A shape as the user writes it: <c>[10000, 28, 28]</c>.</summary>
    public static string FormatShape(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    /// <inheritdoc />
    public override string ToString() => $"HostTensor{FormatShape(Shape)}";
}
