using System.Buffers.Binary;

namespace Nn.Runtime.Data;

/// <summary>
/// Reader for the IDX format of the MNIST database: a 4-byte magic (two zero bytes, a type code, the number of
/// dimensions), the sizes as big-endian 32-bit integers, then the elements big-endian in C order.
/// Files may be gzip-compressed (detected by the gzip magic, not the extension).
/// Type codes: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64.
/// </summary>
internal static class Idx
{
    /// <summary>The magic number of MNIST image files: unsigned bytes, three dimensions.</summary>
    public const uint ImagesMagic = 0x00000803;

    /// <summary>The magic number of MNIST label files: unsigned bytes, one dimension.</summary>
    public const uint LabelsMagic = 0x00000801;

    private static int ElementSize(byte typeCode) => typeCode switch
    {
        0x08 or 0x09 => 1,
        0x0B => 2,
        0x0C or 0x0D => 4,
        0x0E => 8,
        _ => 0,
    };

    /// <summary>Any IDX file, converted to float32 (unsigned bytes stay 0..255: the model
    /// scales them itself).</summary>
    /// <exception cref="DataException">NN0501–NN0503 file problems, NN0510 magic, NN0511 type
    /// code, NN0512 truncated</exception>
    public static HostTensor Read(string path) =>
        Parse(FileBytes.Read(path, DeclaredLength), path, expectedMagic: null, expectedWhat: null);

    /// <summary>An image file (magic 0x00000803): a [count, rows, columns] tensor of raw byte values 0..255.</summary>
    /// <exception cref="DataException">as <see cref="Read"/>; NN0510 for any other magic</exception>
    public static HostTensor ReadImages(string path) =>
        Parse(FileBytes.Read(path, DeclaredLength), path, ImagesMagic, "IDX images");

    /// <summary>A label file (magic 0x00000801): one class index per item.</summary>
    /// <exception cref="DataException">as <see cref="Read"/>; NN0510 for any other magic</exception>
    public static int[] ReadLabels(string path)
    {
        var t = Parse(FileBytes.Read(path, DeclaredLength), path, LabelsMagic, "IDX labels");
        var labels = new int[t.Length];
        for (int i = 0; i < labels.Length; i++) labels[i] = (int)t.Data[i];
        return labels;
    }

    /// <summary>
    /// Images and their labels as a classification dataset (targets are the class indices as floats, shape [N];
    /// the class count is the largest label + 1).
    /// </summary>
    /// <exception cref="DataException">as <see cref="ReadImages"/> and <see cref="ReadLabels"/>; NN0513
    /// when the counts differ</exception>
    public static Dataset ReadDataset(string imagesPath, string labelsPath)
    {
        var images = ReadImages(imagesPath);
        var labels = ReadLabels(labelsPath);
        if (labels.Length != images.Rows)
            throw new DataException(DataErrorCodes.IdxCountMismatch, labelsPath,
                $"{DataException.NameOf(labelsPath)} holds {labels.Length} labels but " +
                $"{DataException.NameOf(imagesPath)} holds {images.Rows} images; the counts must be equal");
        int classes = labels.Length == 0 ? 0 : labels.Max() + 1;
        var targets = new HostTensor([labels.Length], Array.ConvertAll(labels, l => (float)l));
        return new Dataset(images, targets, Enumerable.Range(0, classes).Select(c => c.ToString()).ToArray());
    }

    /// <summary>
    /// The length of the whole file as its header declares it (header and data), or null when the first bytes are
    /// not an IDX header. A gzip-compressed file is decompressed no further than this
    /// (see <see cref="FileBytes.Read"/>).
    /// </summary>
    public static long? DeclaredLength(ReadOnlySpan<byte> prefix)
    {
        if (prefix.Length < 4 || prefix[0] != 0 || prefix[1] != 0) return null;
        int size = ElementSize(prefix[2]);
        int headerLength = 4 + 4 * prefix[3];
        if (size == 0 || prefix.Length < headerLength) return null;
        long count = 1;
        for (int i = 0; i < prefix[3]; i++)
            count = HostTensor.Saturate(count, BinaryPrimitives.ReadUInt32BigEndian(prefix[(4 + 4 * i)..]));
        return count > Array.MaxLength ? null : headerLength + count * size;
    }

    /// <summary>Parses IDX bytes (already decompressed). <paramref name="path"/> is used in messages only.</summary>
    /// <exception cref="DataException">NN0510 magic, NN0511 type code, NN0512 truncated, NN0514 more data than the
    /// header declares</exception>
    public static HostTensor Parse(ReadOnlySpan<byte> bytes, string path, uint? expectedMagic = null,
        string? expectedWhat = null)
    {
        string name = DataException.NameOf(path);
        if (bytes.Length < 4)
            throw new DataException(DataErrorCodes.IdxTruncated, path,
                $"{name}: truncated: expected a 4-byte IDX magic number, found {bytes.Length} bytes",
                byteOffset: bytes.Length);
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(bytes);
        if (expectedMagic is uint want && magic != want)
            throw new DataException(DataErrorCodes.IdxWrongMagic, path,
                $"{name}: wrong magic number 0x{magic:X8}, expected 0x{want:X8} ({expectedWhat})", byteOffset: 0);
        byte typeCode = bytes[2];
        int rank = bytes[3];
        if (bytes[0] != 0 || bytes[1] != 0)
            throw new DataException(DataErrorCodes.IdxWrongMagic, path,
                $"{name}: wrong magic number 0x{magic:X8}: an IDX file starts with two zero bytes", byteOffset: 0);
        int size = ElementSize(typeCode);
        if (size == 0)
            throw new DataException(DataErrorCodes.IdxUnsupportedType, path,
                $"{name}: unknown IDX element type 0x{typeCode:X2}, expected one of 0x08 (u8), 0x09 (i8), " +
                "0x0B (i16), 0x0C (i32), 0x0D (f32), 0x0E (f64)", byteOffset: 2);
        int headerLength = 4 + 4 * rank;
        if (bytes.Length < headerLength)
            throw new DataException(DataErrorCodes.IdxTruncated, path,
                $"{name}: truncated: expected {rank} dimension sizes ({headerLength} header bytes), " +
                $"found {bytes.Length} bytes", byteOffset: bytes.Length);
        var shape = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(bytes[(4 + 4 * i)..]);
            if (d > int.MaxValue)
                throw new DataException(DataErrorCodes.IdxTruncated, path,
                    $"{name}: dimension {i + 1} has size {d}, which is too large", byteOffset: 4 + 4 * i);
            shape[i] = (int)d;
            count = HostTensor.Saturate(count, d); // a corrupt header cannot overflow the byte count
        }
        long needBytes = count * size;
        long found = bytes.Length - headerLength;
        string what = typeCode == 0x08 && rank == 3 ? "pixel bytes"
            : typeCode == 0x08 ? "bytes"
            : $"bytes ({count} elements of {size} bytes)";
        if (found < needBytes || count > Array.MaxLength)
            throw new DataException(DataErrorCodes.IdxTruncated, path,
                $"{name}: truncated: expected {needBytes} {what} after the header, found {found}",
                byteOffset: bytes.Length);
        if (found > needBytes)
            throw new DataException(DataErrorCodes.IdxTooLong, path,
                $"{name}: the file holds more data than its header declares: expected {needBytes} {what} after the " +
                $"header ({FormatShape(shape)}), found more; a damaged header, or a different file appended",
                byteOffset: headerLength + needBytes);
        var data = new float[count];
        var body = bytes[headerLength..];
        switch (typeCode)
        {
            case 0x08: for (int i = 0; i < data.Length; i++) data[i] = body[i]; break;
            case 0x09: for (int i = 0; i < data.Length; i++) data[i] = (sbyte)body[i]; break;
            case 0x0B:
                for (int i = 0; i < data.Length; i++) data[i] = BinaryPrimitives.ReadInt16BigEndian(body[(2 * i)..]);
                break;
            case 0x0C:
                for (int i = 0; i < data.Length; i++) data[i] = BinaryPrimitives.ReadInt32BigEndian(body[(4 * i)..]);
                break;
            case 0x0D:
                for (int i = 0; i < data.Length; i++) data[i] = BinaryPrimitives.ReadSingleBigEndian(body[(4 * i)..]);
                break;
            case 0x0E:
                for (int i = 0; i < data.Length; i++)
                    data[i] = (float)BinaryPrimitives.ReadDoubleBigEndian(body[(8 * i)..]);
                break;
        }
        return new HostTensor(shape, data);
    }

    private static string FormatShape(int[] shape) => string.Join(" x ", shape);

    /// <summary>Writes an IDX file of unsigned bytes (type 0x08) with the given shape: for tests and tools.</summary>
    public static byte[] EncodeBytes(int[] shape, ReadOnlySpan<byte> values)
    {
        var result = new byte[4 + 4 * shape.Length + values.Length];
        result[2] = 0x08;
        result[3] = (byte)shape.Length;
        for (int i = 0; i < shape.Length; i++) BinaryPrimitives.WriteInt32BigEndian(result.AsSpan(4 + 4 * i), shape[i]);
        values.CopyTo(result.AsSpan(4 + 4 * shape.Length));
        return result;
    }
}
