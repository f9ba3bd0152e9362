using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.Intrinsics;
using Nn.Runtime.Util;

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
    public static HostTensor Read(string path) => ReadFile(path, expectedMagic: null, expectedWhat: null);

    /// <summary>An image file (magic 0x00000803): a [count, rows, columns] tensor of raw byte values 0..255.</summary>
    /// <exception cref="DataException">as <see cref="Read"/>; NN0510 for any other magic</exception>
    public static HostTensor ReadImages(string path) => ReadFile(path, ImagesMagic, "IDX images");

    /// <summary>A label file (magic 0x00000801): one class index per item.</summary>
    /// <exception cref="DataException">as <see cref="Read"/>; NN0510 for any other magic</exception>
    public static int[] ReadLabels(string path)
    {
        var t = ReadFile(path, LabelsMagic, "IDX labels");
        var labels = new int[t.Length];
        if (t.Bytes is { } bytes)
            for (int i = 0; i < labels.Length; i++) labels[i] = bytes[i];
        else
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

    /// <summary>A file of unsigned bytes compressed with gzip is decompressed straight into the tensor's bytes, which
    /// it keeps as such (<see cref="TryInflateBytes"/>, <see cref="HostTensor.OfBytes"/>); any other file, and any
    /// file that pass does not take whole, is read and checked by <see cref="FileBytes.Read"/> and
    /// <see cref="Parse"/>, which name what is wrong with it.</summary>
    private static HostTensor ReadFile(string path, uint? expectedMagic, string? expectedWhat)
    {
        byte[] raw = FileBytes.ReadRaw(path);
        if (!FileBytes.IsGzip(raw)) return Parse(raw, path, expectedMagic, expectedWhat);
        return TryInflateBytes(raw, expectedMagic)
            ?? Parse(FileBytes.Gunzip(raw, path, DeclaredLength), path, expectedMagic, expectedWhat);
    }

    /// <summary>The most a gzip file may expand for <see cref="TryInflateBytes"/> to allocate its floats before
    /// reading them (MNIST expands 5 times; a file that claims more goes the checked way, which allocates only what
    /// the stream really holds).</summary>
    private const long MostExpansion = 64;

    /// <summary>The header of an IDX file of unsigned bytes (type 0x08; magic <paramref name="expectedMagic"/> when
    /// given) read from <paramref name="input"/>: its shape, or null for any other type or magic, a header cut short,
    /// or more elements than an array holds.</summary>
    internal static int[]? ByteHeader(Stream input, uint? expectedMagic = null)
    {
        Span<byte> header = stackalloc byte[4 + 4 * 255];
        if (input.ReadAtLeast(header[..4], 4, throwOnEndOfStream: false) < 4) return null;
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (header[0] != 0 || header[1] != 0 || header[2] != 0x08 || expectedMagic is uint want && magic != want)
            return null;
        int rank = header[3];
        if (input.ReadAtLeast(header.Slice(4, 4 * rank), 4 * rank, throwOnEndOfStream: false) < 4 * rank) return null;
        var shape = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(header[(4 + 4 * i)..]);
            if (d > int.MaxValue) return null;
            shape[i] = (int)d;
        }
        return HostTensor.ElementCount(shape) > Array.MaxLength ? null : shape;
    }

    /// <summary>The shape the header of an IDX file of unsigned bytes declares (magic <paramref name="expectedMagic"/>
    /// when given), gzip-compressed or not, read without its data; null for anything else and on any error. What work
    /// done before the data is read builds on (<c>TrainPlan.ahead</c>); reading the file still checks all of it and
    /// reports what is wrong.</summary>
    public static int[]? PeekByteShape(string path, uint? expectedMagic = null)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 512);
            Span<byte> magic = stackalloc byte[2];
            if (file.ReadAtLeast(magic, 2, throwOnEndOfStream: false) < 2) return null;
            file.Position = 0;
            if (!FileBytes.IsGzip(magic)) return ByteHeader(file, expectedMagic);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            return ByteHeader(gzip, expectedMagic);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException
                                       or ArgumentException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>
    /// A gzip-compressed IDX file of unsigned bytes whose gzip trailer declares exactly the length its IDX header
    /// does, and at most <see cref="MostExpansion"/> times the compressed size: the decompressing stream positioned
    /// after the header, and the file's shape; null for anything else (the caller then reads it the checked way,
    /// which names what is wrong). What <see cref="TryInflateBytes"/> streams (<see cref="IdxRows"/> opens the file
    /// itself through <see cref="OpenGzip"/>).
    /// </summary>
    internal static (Stream Body, int[] Shape)? OpenGzipBytes(byte[] raw, uint? expectedMagic = null) =>
        raw.Length < 18 ? null
            : OpenGzip(new MemoryStream(raw), raw.Length, BitConverter.ToUInt32(raw, raw.Length - 4), expectedMagic);

    /// <summary>As <see cref="OpenGzipBytes"/> for <paramref name="compressed"/>, a gzip file of
    /// <paramref name="length"/> bytes whose trailer declares <paramref name="trailerSize"/> (taken over: disposed
    /// when null is returned).</summary>
    internal static (Stream Body, int[] Shape)? OpenGzip(Stream compressed, long length, long trailerSize,
        uint? expectedMagic = null)
    {
        var input = new GZipStream(compressed, CompressionMode.Decompress);
        try
        {
            var shape = ByteHeader(input, expectedMagic);
            if (shape is not null && 4 + 4 * shape.Length + HostTensor.ElementCount(shape) == trailerSize
                && trailerSize <= MostExpansion * length)
                return (input, shape);
        }
        catch (Exception e) when (e is InvalidDataException or IOException) { }
        input.Dispose();
        return null;
    }

    /// <summary>
    /// The tensor of a gzip-compressed IDX file of unsigned bytes (<see cref="OpenGzipBytes"/>), decompressed straight
    /// into its bytes (<see cref="HostTensor.OfBytes"/>); null for anything else, or when the stream turns out shorter,
    /// longer or damaged (the caller then reads it the checked way and reports it).
    /// </summary>
    private static HostTensor? TryInflateBytes(byte[] raw, uint? expectedMagic)
    {
        if (OpenGzipBytes(raw, expectedMagic) is not { } opened) return null;
        var (input, shape) = opened;
        try
        {
            long count = HostTensor.ElementCount(shape);
            var data = HugePages.Uninitialized<byte>((int)count);
            using (count >= 4 << 20 && Environment.ProcessorCount > 1 ? new PageToucher(data) : null)
            {
                int done = 0;
                for (int n; done < data.Length && (n = input.Read(data.AsSpan(done))) > 0;) done += n;
                if (done != data.Length) return null; // shorter than declared
            }
            Span<byte> more = stackalloc byte[1];
            return input.Read(more) == 0 ? HostTensor.OfBytes(shape, data) : null; // or longer
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            return null; // damaged: the checked way says how
        }
        finally
        {
            input.Dispose();
        }
    }

    /// <summary>
    /// Touches the memory pages of a new array on another core while the caller fills it, from the front, so that
    /// the operating system maps them (a page fault each: a third of reading the MNIST digits) there instead of in
    /// the caller's loop: a megabyte per system call where the system maps pages on request (<see cref="Pages"/>,
    /// which maps only pages not mapped yet and writes nothing), else a touch per page, a compare-exchange of 0 with
    /// 0: it stores only where the element is 0 and then stores 0, so it can never change a value the caller wrote,
    /// whichever thread gets there first.
    /// </summary>
    private sealed class PageToucher : IDisposable
    {
        private volatile bool stop;
        private readonly Task task;

        public PageToucher(byte[] data)
        {
            int stride = Environment.SystemPageSize;
            task = Task.Run(() =>
            {
                // a megabyte's pages per system call where the system maps them on request (16x cheaper than faults)
                const int chunk = 1 << 20;
                for (int i = 0; i < data.Length && !stop && Pages.Supported; i += chunk)
                    Pages.Populate(data.AsSpan(i, Math.Min(chunk, data.Length - i)));
                if (Pages.Supported) return;
                for (int i = 0; i < data.Length && !stop; i += stride)
                    Interlocked.CompareExchange(ref data[i], 0, 0);
            });
        }

        /// <summary>Stops touching (the caller is done) and waits for the other thread.</summary>
        public void Dispose()
        {
            stop = true;
            task.Wait();
        }
    }

    /// <summary>Unsigned bytes to floats (0..255), 64 or 32 at a time where vectors are hardware-accelerated (the
    /// training rows of MNIST are widened a batch at a time as they are copied: <see cref="HostTensor.Bytes"/>).
    /// </summary>
    internal static void Widen(ReadOnlySpan<byte> bytes, Span<float> floats)
    {
        if (floats.Length < bytes.Length) throw new ArgumentException("the floats are shorter than the bytes");
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 64 <= bytes.Length; i += 64)
            {
                var (lo, hi) = Vector512.Widen(Vector512.Create(bytes.Slice(i, 64)));
                var (a, b) = Vector512.Widen(lo);
                var (c, d) = Vector512.Widen(hi);
                Vector512.ConvertToSingle(a.AsInt32()).CopyTo(floats.Slice(i, 16));
                Vector512.ConvertToSingle(b.AsInt32()).CopyTo(floats.Slice(i + 16, 16));
                Vector512.ConvertToSingle(c.AsInt32()).CopyTo(floats.Slice(i + 32, 16));
                Vector512.ConvertToSingle(d.AsInt32()).CopyTo(floats.Slice(i + 48, 16));
            }
        if (Vector256.IsHardwareAccelerated)
            for (; i + 32 <= bytes.Length; i += 32)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Create(bytes.Slice(i, 32)));
                var (a, b) = Vector256.Widen(lo);
                var (c, d) = Vector256.Widen(hi);
                Vector256.ConvertToSingle(a.AsInt32()).CopyTo(floats.Slice(i, 8));
                Vector256.ConvertToSingle(b.AsInt32()).CopyTo(floats.Slice(i + 8, 8));
                Vector256.ConvertToSingle(c.AsInt32()).CopyTo(floats.Slice(i + 16, 8));
                Vector256.ConvertToSingle(d.AsInt32()).CopyTo(floats.Slice(i + 24, 8));
            }
        for (; i < bytes.Length; i++) floats[i] = bytes[i];
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
        var body = bytes[headerLength..];
        if (typeCode == 0x08)
        {
            var values = HugePages.Uninitialized<byte>((int)count);
            body[..values.Length].CopyTo(values);
            return HostTensor.OfBytes(shape, values);
        }
        var data = HugePages.Uninitialized<float>((int)count); // every element is written below
        switch (typeCode)
        {
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
