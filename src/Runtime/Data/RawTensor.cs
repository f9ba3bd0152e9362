using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Nn.Runtime.Data;

/// <summary>The element types files can hold (NPY and safetensors).</summary>
internal enum ElementType
{
    /// <summary>32-bit float (NPY <c>&lt;f4</c>, safetensors <c>F32</c>).</summary>
    F32,
    /// <summary>64-bit float (NPY <c>&lt;f8</c>, safetensors <c>F64</c>).</summary>
    F64,
    /// <summary>32-bit signed integer (NPY <c>&lt;i4</c>, safetensors <c>I32</c>).</summary>
    I32,
    /// <summary>64-bit signed integer (NPY <c>&lt;i8</c>, safetensors <c>I64</c>).</summary>
    I64,
    /// <summary>unsigned byte (NPY <c>|u1</c>, safetensors <c>U8</c>).</summary>
    U8,
}

/// <summary>
/// A tensor as a file stores it: an element type, a shape and the raw little-endian bytes in C order.
/// NPY and safetensors read and write this; <see cref="ToHost"/> converts to float32 for the executor.
/// </summary>
internal sealed class RawTensor
{
    /// <summary>The element type.</summary>
    public ElementType Type { get; }

    /// <summary>The sizes of the axes (empty for a scalar).</summary>
    public int[] Shape { get; }

    /// <summary>The elements as little-endian bytes, row-major; length = element count × element size (a tensor of
    /// <see cref="FromHost"/> copies its values here when first asked).</summary>
    public byte[] Bytes => _bytes ??= AsBytes<float>(_floats!);

    /// <summary>The bytes of <see cref="Bytes"/> without a copy: a writer's view.</summary>
    public ReadOnlySpan<byte> Span => _bytes is { } b ? b : MemoryMarshal.AsBytes(_floats!.AsSpan());

    private byte[]? _bytes;
    /// <summary>The values of <see cref="FromHost"/>, read as they are when written.</summary>
    private readonly float[]? _floats;

    /// <summary>A tensor over existing bytes (not copied).</summary>
    /// <exception cref="ArgumentException">when the byte count disagrees with the shape and type</exception>
    public RawTensor(ElementType type, int[] shape, byte[] bytes)
    {
        long need = HostTensor.ElementCount(shape) * SizeOf(type);
        if (need != bytes.Length)
            throw new ArgumentException(
                $"{type} {HostTensor.FormatShape(shape)} needs {need} bytes but {bytes.Length} were given",
                nameof(bytes));
        Type = type; Shape = shape; _bytes = bytes;
    }

    private RawTensor(int[] shape, float[] values)
    {
        if (HostTensor.ElementCount(shape) != values.Length)
            throw new ArgumentException($"{HostTensor.FormatShape(shape)} needs {HostTensor.ElementCount(shape)} " +
                $"values but {values.Length} were given", nameof(values));
        Type = ElementType.F32; Shape = shape; _floats = values;
    }

    /// <summary>The number of elements.</summary>
    public long ElementCount => HostTensor.ElementCount(Shape);

    /// <summary>The size in bytes of one element of <paramref name="type"/>.</summary>
    public static int SizeOf(ElementType type) => type switch
    {
        ElementType.F32 or ElementType.I32 => 4,
        ElementType.F64 or ElementType.I64 => 8,
        ElementType.U8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    // The runtime is little-endian on every platform .NET supports here; the copies below are reinterpretations.
    private static byte[] AsBytes<T>(ReadOnlySpan<T> values) where T : unmanaged =>
        BitConverter.IsLittleEndian
            ? MemoryMarshal.AsBytes(values).ToArray()
            : throw new PlatformNotSupportedException("big-endian host");

    private T[] As<T>(ElementType expected) where T : unmanaged
    {
        if (Type != expected) throw new InvalidOperationException($"the tensor holds {Type}, not {expected}");
        return MemoryMarshal.Cast<byte, T>(Bytes).ToArray();
    }

    /// <summary>A float32 tensor.</summary>
    public static RawTensor FromFloats(int[] shape, ReadOnlySpan<float> values) =>
        new(ElementType.F32, shape, AsBytes(values));
    /// <summary>A float64 tensor.</summary>
    public static RawTensor FromDoubles(int[] shape, ReadOnlySpan<double> values) =>
        new(ElementType.F64, shape, AsBytes(values));
    /// <summary>The float32 tensor of <paramref name="t"/>'s values, not copied: what a checkpoint writes at once
    /// (a copy was fresh memory, ~2 ms a megabyte here in page faults, issue #18). Its values must not change before
    /// it is written.</summary>
    public static RawTensor FromHost(HostTensor t) =>
        BitConverter.IsLittleEndian ? new((int[])t.Shape.Clone(), t.Data) : FromFloats((int[])t.Shape.Clone(), t.Data);

    /// <summary>The elements of a <see cref="ElementType.F64"/> tensor.</summary>
    public double[] ToDoubles() => As<double>(ElementType.F64);
    /// <summary>The elements of an <see cref="ElementType.I32"/> tensor.</summary>
    public int[] ToInt32s() => As<int>(ElementType.I32);
    /// <summary>The elements of an <see cref="ElementType.I64"/> tensor.</summary>
    public long[] ToInt64s() => As<long>(ElementType.I64);

    /// <summary>The tensor converted to float32 (doubles and 64-bit integers are rounded to the nearest
    /// float).</summary>
    public HostTensor ToHost()
    {
        int n = checked((int)ElementCount);
        var data = new float[n];
        ReadOnlySpan<byte> b = Bytes;
        switch (Type)
        {
            case ElementType.F32: MemoryMarshal.Cast<byte, float>(b).CopyTo(data); break;
            case ElementType.F64:
                for (int i = 0; i < n; i++) data[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(b[(i * 8)..]);
                break;
            case ElementType.I32:
                for (int i = 0; i < n; i++) data[i] = BinaryPrimitives.ReadInt32LittleEndian(b[(i * 4)..]);
                break;
            case ElementType.I64:
                for (int i = 0; i < n; i++) data[i] = BinaryPrimitives.ReadInt64LittleEndian(b[(i * 8)..]);
                break;
            case ElementType.U8: for (int i = 0; i < n; i++) data[i] = b[i]; break;
        }
        return new HostTensor((int[])Shape.Clone(), data);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Type}{HostTensor.FormatShape(Shape)}";
}
