using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Nn.Runtime.Data;

/// <summary>
/// NumPy's <c>.npy</c> format (versions 1.0, 2.0 and 3.0): the magic <c>\x93NUMPY</c>, a version, a header length
/// (2 bytes little-endian in version 1, 4 bytes after), a Python dict literal such as
/// <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (3, 4), }</c> padded so the data starts at a multiple of
/// 64, then the raw data. Supported dtypes: <c>&lt;f4 &lt;f8 &lt;i4 &lt;i8 |u1</c>, C order only.
/// </summary>
internal static partial class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""]([^'""]*)['""]")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"['""]shape['""]\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();

    /// <summary>The NPY dtype string of an element type.</summary>
    public static string Descr(ElementType type) => type switch
    {
        ElementType.F32 => "<f4",
        ElementType.F64 => "<f8",
        ElementType.I32 => "<i4",
        ElementType.I64 => "<i8",
        ElementType.U8 => "|u1",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    private static ElementType? FromDescr(string descr) => descr switch
    {
        "<f4" or "=f4" or "f4" => ElementType.F32,
        "<f8" or "=f8" or "f8" => ElementType.F64,
        "<i4" or "=i4" or "i4" => ElementType.I32,
        "<i8" or "=i8" or "i8" => ElementType.I64,
        "|u1" or "<u1" or "=u1" or "u1" => ElementType.U8,
        _ => null,
    };

    /// <summary>Reads an NPY file with its element type.</summary>
    /// <exception cref="DataException">NN0501/NN0502 file problems; NN0530 not NPY or bad header; NN0531 Fortran order;
    /// NN0532 unsupported dtype; NN0533 truncated data</exception>
    public static RawTensor Read(string path) => Parse(FileBytes.ReadRaw(path), path);

    /// <summary>Reads an NPY file converted to float32 (the form <c>nn predict --input</c> feeds a model).</summary>
    /// <exception cref="DataException">as <see cref="Read"/></exception>
    public static HostTensor ReadHost(string path) => Read(path).ToHost();

    /// <summary>
    /// Features and (optionally) targets for training: the two arrays must have the same number of rows (their first
    /// axis), neither may be a 0-d array, and every value must be finite once converted to float32.
    /// </summary>
    /// <exception cref="DataException">as <see cref="Read"/>; NN0534 different row counts or a 0-d array (naming both
    /// files); NN0542 a NaN, infinite or overflowing value (naming the file, row and column)</exception>
    public static Dataset ReadDataset(string featuresPath, string? targetsPath)
    {
        string xName = DataException.NameOf(featuresPath);
        var x = Read(featuresPath);
        var y = targetsPath is null ? null : Read(targetsPath);
        string paired = targetsPath is null ? "" : $" (paired with {DataException.NameOf(targetsPath)})";
        if (x.Shape.Length == 0)
            throw new DataException(DataErrorCodes.NpyRowMismatch, featuresPath,
                $"{xName}{paired}: the features are a 0-d array (shape ()), a single value with no rows; " +
                "save one row per example, shape (N, ...)");
        if (y is not null)
        {
            string yName = DataException.NameOf(targetsPath!);
            if (y.Shape.Length == 0)
                throw new DataException(DataErrorCodes.NpyRowMismatch, targetsPath!,
                    $"{yName}: the targets are a 0-d array (shape ()), a single value with no rows; {xName} holds " +
                    $"{x.Shape[0]} {Plural(x.Shape[0], "row")}, so the targets need shape ({x.Shape[0]}, ...)");
            if (y.Shape[0] != x.Shape[0])
                throw new DataException(DataErrorCodes.NpyRowMismatch, targetsPath!,
                    $"{xName} holds {x.Shape[0]} {Plural(x.Shape[0], "row")} but {yName} holds {y.Shape[0]}; " +
                    "features and targets need the same number of rows (their first axis)");
        }
        return new Dataset(Finite(x, featuresPath), y is null ? null : Finite(y, targetsPath!));
    }

    // 1e39 as Python writes it, not .NET's 1E+39
    internal static string Plain(double v) =>
        v.ToString("R", CultureInfo.InvariantCulture).Replace("E+", "e").Replace("E-", "e-");

    private static string Plural(int n, string word) => n == 1 ? word : word + "s";

    // The float32 tensor, or NN0542 at the first value that is NaN or infinite (or a double beyond float32's range).
    private static HostTensor Finite(RawTensor raw, string path)
    {
        var host = raw.ToHost();
        int at = Array.FindIndex(host.Data, v => !float.IsFinite(v));
        if (at < 0) return host;
        string name = DataException.NameOf(path);
        var index = new int[raw.Shape.Length];
        for (int a = index.Length - 1, rest = at; a >= 0; a--) { index[a] = rest % raw.Shape[a]; rest /= raw.Shape[a]; }
        int? column = index.Length == 2 ? index[1] + 1 : null;
        string where = $"row {index[0] + 1}" + (column is int c ? $", column {c}" : "");
        string numpy = $"{Path.GetFileNameWithoutExtension(name)}[{string.Join(", ", index)}]";
        double original = raw.Type == ElementType.F64
            ? BinaryPrimitives.ReadDoubleLittleEndian(raw.Bytes.AsSpan(8 * at))
            : host.Data[at];
        string what = double.IsFinite(original)
            ? $"{Plain(original)} is too large for a 32-bit float (the largest is about 3.4e38)"
            : double.IsNaN(original) ? "the value is NaN" : "the value is infinite";
        throw new DataException(DataErrorCodes.NonFinite, path,
            $"{name} {where} ({numpy}): {what}; training needs finite numbers", row: index[0] + 1, column: column);
    }

    /// <summary>Parses NPY bytes; <paramref name="path"/> is used in messages only.</summary>
    /// <exception cref="DataException">as <see cref="Read"/></exception>
    public static RawTensor Parse(ReadOnlySpan<byte> bytes, string path)
    {
        string name = DataException.NameOf(path);
        DataException Malformed(string what, long offset) =>
            new(DataErrorCodes.NpyMalformed, path, $"{name}: {what}", byteOffset: offset);

        if (bytes.Length < 10 || !bytes[..6].SequenceEqual(Magic))
            throw Malformed("not an NPY file: it does not start with the magic bytes \\x93NUMPY", 0);
        byte major = bytes[6], minor = bytes[7];
        int lengthBytes = major switch { 1 => 2, 2 or 3 => 4, _ => 0 };
        if (lengthBytes == 0)
            throw Malformed(
                $"unsupported NPY format version {major}.{minor}; versions 1.0, 2.0 and 3.0 are supported", 6);
        if (bytes.Length < 8 + lengthBytes) throw Malformed($"truncated: the header length is missing", bytes.Length);
        long headerLength = lengthBytes == 2
            ? BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..])
            : BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
        int dataStart = 8 + lengthBytes;
        if (bytes.Length - dataStart < headerLength)
            throw Malformed($"truncated: expected a {headerLength}-byte header, found {bytes.Length - dataStart} bytes",
                bytes.Length);
        string header =
            (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(bytes.Slice(dataStart, (int)headerLength));
        dataStart += (int)headerLength;

        var descr = DescrPattern().Match(header);
        var fortran = FortranPattern().Match(header);
        var shapeMatch = ShapePattern().Match(header);
        if (!descr.Success || !fortran.Success || !shapeMatch.Success)
            throw Malformed($"malformed NPY header {header.Trim()}: expected 'descr', 'fortran_order' and 'shape'",
                8 + lengthBytes);
        string dtype = descr.Groups[1].Value;
        var shape = new List<int>();
        foreach (string part in shapeMatch.Groups[1].Value.Split(',',
            StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out int d))
                throw Malformed($"malformed NPY header: shape ({shapeMatch.Groups[1].Value}) is not a list of sizes",
                    8 + lengthBytes);
            shape.Add(d);
        }
        long count = HostTensor.ElementCount(shape.ToArray());
        if (fortran.Groups[1].Value == "True" && shape.Count(d => d > 1) > 1)
            throw new DataException(DataErrorCodes.NpyFortranOrder, path,
                $"{name}: the array is stored in Fortran (column-major) order; save it in C order, " +
                "e.g. numpy.save(path, numpy.ascontiguousarray(a))");
        if (FromDescr(dtype) is not ElementType type)
            throw new DataException(DataErrorCodes.NpyUnsupportedDtype, path,
                $"{name}: unsupported dtype '{dtype}'; " +
                "supported are '<f4', '<f8', '<i4', '<i8' and '|u1' (little-endian)");
        long need = count * RawTensor.SizeOf(type);
        long found = bytes.Length - dataStart;
        if (found < need || need > Array.MaxLength)
            throw new DataException(DataErrorCodes.NpyTruncated, path,
                $"{name}: truncated: expected {need} data bytes for '{dtype}' {FormatShape(shape)}, found {found}",
                byteOffset: bytes.Length);
        return new RawTensor(type, shape.ToArray(), bytes.Slice(dataStart, (int)need).ToArray());
    }

    // Python's tuple syntax: (), (3,), (3, 4)
    private static string FormatShape(IReadOnlyList<int> shape) =>
        shape.Count == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";

    /// <summary>The NPY bytes of <paramref name="tensor"/> (version 1.0, or 2.0 if the header needs it),
    /// as numpy writes them.</summary>
    public static byte[] Encode(RawTensor tensor)
    {
        var header = EncodeHeader(tensor.Type, tensor.Shape);
        var result = new byte[header.Length + tensor.Bytes.Length];
        header.CopyTo(result, 0);
        tensor.Bytes.CopyTo(result, header.Length);
        return result;
    }

    /// <summary>The NPY header of an array (magic, version, length, the dict padded to 64 bytes): what precedes its
    /// data.</summary>
    private static byte[] EncodeHeader(ElementType type, int[] shape)
    {
        string dict = $"{{'descr': '{Descr(type)}', 'fortran_order': False, 'shape': {FormatShape(shape)}, }}";
        int lengthBytes = dict.Length + 1 + 10 > ushort.MaxValue ? 4 : 2;
        int prefix = 8 + lengthBytes;
        int total = (prefix + dict.Length + 1 + 63) / 64 * 64;
        string header = dict.PadRight(total - prefix - 1) + "\n";
        var result = new byte[total];
        Magic.CopyTo(result, 0);
        result[6] = (byte)(lengthBytes == 2 ? 1 : 2);
        if (lengthBytes == 2) BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(8), (ushort)header.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(8), (uint)header.Length);
        Encoding.Latin1.GetBytes(header, result.AsSpan(prefix));
        return result;
    }

    /// <summary>Writes <paramref name="tensor"/> as an NPY file, atomically.</summary>
    /// <exception cref="DataException">NN0706 when the file cannot be written</exception>
    public static void Write(string path, RawTensor tensor) => AtomicFile.WriteAllBytes(path, Encode(tensor));

    /// <summary>Writes a float32 tensor as an NPY file ('&lt;f4'), atomically: the header, then the elements' bytes
    /// straight from the tensor (no copy of the data; the same bytes as <see cref="Encode"/>).</summary>
    /// <exception cref="DataException">NN0706 when the file cannot be written</exception>
    public static void Write(string path, HostTensor tensor)
    {
        if (!BitConverter.IsLittleEndian) { Write(path, RawTensor.FromHost(tensor)); return; }
        var header = EncodeHeader(ElementType.F32, tensor.Shape);
        AtomicFile.Write(path, stream =>
        {
            stream.Write(header);
            stream.Write(MemoryMarshal.AsBytes(tensor.Data.AsSpan()));
        });
    }
}
