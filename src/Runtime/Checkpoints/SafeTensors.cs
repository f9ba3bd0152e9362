using System.Buffers.Binary;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Nn.Runtime.Data;
using Nn.Runtime.IR;
using Nn.Runtime.Util;

namespace Nn.Runtime.Checkpoints;

/// <summary>The tensors and metadata of a checkpoint file, in the order the file lists them.</summary>
internal sealed class Checkpoint
{
    private readonly Dictionary<string, RawTensor> _tensors;
    private readonly Dictionary<string, HostTensor>? _floats;

    /// <summary>The file it was read from (for messages).</summary>
    public string FilePath { get; }

    /// <summary>The tensor names (parameter paths such as <c>tower.dense2.w</c>) in file order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The tensors by name (those read: every tensor unless the file was read with a filter).</summary>
    public IReadOnlyDictionary<string, RawTensor> Tensors => _tensors;

    /// <summary>The string metadata of the <c>__metadata__</c> entry (empty when there is none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>A checkpoint from its parts.</summary>
    public Checkpoint(string filePath, IReadOnlyList<string> names, Dictionary<string, RawTensor> tensors,
        IReadOnlyDictionary<string, string> metadata) : this(filePath, names, tensors, metadata, null) { }

    /// <summary>A checkpoint from its parts, its F32 tensors in <paramref name="floats"/> as read (not in
    /// <paramref name="tensors"/>).</summary>
    public Checkpoint(string filePath, IReadOnlyList<string> names, Dictionary<string, RawTensor> tensors,
        IReadOnlyDictionary<string, string> metadata, Dictionary<string, HostTensor>? floats)
    {
        FilePath = filePath; Names = names; _tensors = tensors; Metadata = metadata; _floats = floats;
    }

    /// <summary>Whether the bytes of the tensor called <paramref name="name"/> were read.</summary>
    public bool Holds(string name) => _tensors.ContainsKey(name) || (_floats?.ContainsKey(name) ?? false);

    /// <summary>Whether the tensor was read as float32 straight into its array (<see cref="ToHost"/> then costs
    /// nothing).</summary>
    public bool HoldsFloats(string name) => _floats?.ContainsKey(name) ?? false;

    /// <summary>The shape of the tensor called <paramref name="name"/>.</summary>
    /// <exception cref="DataException">NN0707 when the checkpoint has no such tensor</exception>
    public int[] ShapeOf(string name) =>
        _floats is not null && _floats.TryGetValue(name, out var h) ? h.Shape : this[name].Shape;

    /// <summary>The tensor called <paramref name="name"/> as float32: a file read with <c>floats</c> set
    /// (<see cref="SafeTensors.Read(string, Func{string, bool}?, bool)"/>) hands over an F32 tensor's array as read
    /// (no copy: call this once a name), any other is converted (<see cref="RawTensor.ToHost"/>).</summary>
    /// <exception cref="DataException">NN0707 when the checkpoint has no such tensor</exception>
    public HostTensor ToHost(string name) =>
        _floats is not null && _floats.TryGetValue(name, out var h) ? h : this[name].ToHost();

    /// <summary>The tensor called <paramref name="name"/>.</summary>
    /// <exception cref="DataException">NN0707 when the checkpoint has no such tensor</exception>
    public RawTensor this[string name] => _tensors.TryGetValue(name, out var t) ? t
        : Names.Contains(name) ? throw Throw.Bug($"the tensor `{name}` of {FilePath} was not read (filtered out)")
        : throw new DataException(DataErrorCodes.CheckpointMissingTensor, FilePath,
            $"{DataException.NameOf(FilePath)}: no tensor named `{name}`; " +
            $"the checkpoint holds {(Names.Count == 0 ? "no tensors" : string.Join(", ", Names))}");
}

/// <summary>
/// The safetensors format (as Hugging Face's <c>safetensors</c> library reads and writes it): an 8-byte
/// little-endian header length N, N bytes of JSON mapping each tensor name to
/// <c>{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}</c> (offsets relative to the data section)
/// plus an optional <c>"__metadata__"</c> object of strings, then the raw little-endian data.
/// Supported dtypes: F32, F64, I32, I64, U8.
/// </summary>
internal static class SafeTensors
{
    private const string MetadataKey = "__metadata__";
    private const long MaxHeader = 100_000_000; // the reference implementation's limit

    private static string DtypeName(ElementType t) => t.ToString(); // F32, F64, I32, I64, U8 are the format's names

    private static ElementType? ParseDtype(string s) => s switch
    {
        "F32" => ElementType.F32, "F64" => ElementType.F64, "I32" => ElementType.I32, "I64" => ElementType.I64,
        "U8" => ElementType.U8,
        _ => null,
    };

    /// <summary>The safetensors bytes of <paramref name="tensors"/> (in the given order) and
    /// <paramref name="metadata"/>.</summary>
    /// <exception cref="ArgumentException">when a name repeats or is <c>__metadata__</c></exception>
    public static byte[] Encode(IEnumerable<KeyValuePair<string, RawTensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var result = new MemoryStream();
        EncodeTo(result, list, metadata);
        return result.ToArray();
    }

    private static void CheckNames(List<KeyValuePair<string, RawTensor>> list)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _) in list)
            if (name == MetadataKey || !seen.Add(name))
                throw new ArgumentException($"tensor name `{name}` is repeated or reserved", "tensors");
    }

    /// <summary>Writes the safetensors bytes of <paramref name="list"/> and <paramref name="metadata"/> to
    /// <paramref name="output"/>: the header, then each tensor's bytes as they are (no copy of the whole file is
    /// made: a checkpoint of MNIST's MLP is 8 MB).</summary>
    /// <exception cref="ArgumentException">when a name repeats or is <c>__metadata__</c></exception>
    private static void EncodeTo(Stream output, List<KeyValuePair<string, RawTensor>> list,
        IReadOnlyDictionary<string, string>? metadata)
    {
        CheckNames(list);
        var json = new MemoryStream();
        // Names and metadata are written as plain UTF-8, as the reference writer does
        // (only control characters escaped).
        using (var w = new Utf8JsonWriter(json,
            new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, t) in list)
            {
                w.WriteStartObject(name);
                w.WriteString("dtype", DtypeName(t.Type));
                w.WriteStartArray("shape");
                foreach (int d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + t.Span.Length);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += t.Span.Length;
            }
            w.WriteEndObject();
        }
        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        int headerLength = (int)(json.Length + 7) / 8 * 8;
        var header = new byte[8 + headerLength];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)headerLength);
        json.GetBuffer().AsSpan(0, (int)json.Length).CopyTo(header.AsSpan(8));
        header.AsSpan(8 + (int)json.Length).Fill((byte)' ');
        output.Write(header);
        foreach (var (_, t) in list) output.Write(t.Span);
    }

    /// <summary>Writes a safetensors file atomically (see <see cref="AtomicFile"/>).</summary>
    /// <exception cref="DataException">NN0706 when the file cannot be written</exception>
    public static void Write(string path, IEnumerable<KeyValuePair<string, RawTensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        AtomicFile.Write(path, stream => EncodeTo(stream, list, metadata));
    }

    /// <summary>Reads and validates a safetensors file. The header length is checked against the file's size, and
    /// every tensor's offsets against the data section, before anything of that size is allocated; each tensor's
    /// bytes are then read straight from the file (the file is never held in memory as a whole).</summary>
    /// <exception cref="DataException">NN0701 missing; NN0502 unreadable; NN0702 header length; NN0703 header JSON;
    /// NN0704 offsets (out of range, overlapping, or not the shape's size); NN0705 dtype</exception>
    public static Checkpoint Read(string path) => Read(path, null);

    /// <summary>The <c>__metadata__</c> strings of a safetensors file, validated as <see cref="Read(string)"/> does
    /// (the whole header), without reading any tensor's bytes.</summary>
    /// <exception cref="DataException">as <see cref="Read(string)"/></exception>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path) => Read(path, _ => false).Metadata;

    /// <summary>As <see cref="Read(string)"/>, reading the bytes of the tensors <paramref name="wanted"/> accepts
    /// (every tensor when null): the others are validated and listed in <see cref="Checkpoint.Names"/>, but not
    /// read (<c>nn predict</c> reads the weights, not the optimizer's state).</summary>
    /// <exception cref="DataException">as <see cref="Read(string)"/></exception>
    public static Checkpoint Read(string path, Func<string, bool>? wanted) => Read(path, wanted, false);

    /// <summary>As <see cref="Read(string, Func{string, bool}?)"/>; with <paramref name="floats"/> set, the wanted
    /// F32 tensors are read straight into float arrays (<see cref="Checkpoint.ToHost"/>; not in
    /// <see cref="Checkpoint.Tensors"/>): one copy of their bytes instead of two (<c>nn predict</c>, issue #18).
    /// </summary>
    /// <exception cref="DataException">as <see cref="Read(string)"/></exception>
    public static Checkpoint Read(string path, Func<string, bool>? wanted, bool floats) =>
        Read(path, wanted is null ? null : _ => wanted, floats, null);

    /// <summary>As <see cref="Read(string, Func{string, bool}?, bool)"/>, choosing the tensors to read once the
    /// header is parsed, from the names of all (<paramref name="wantedOf"/>, null for all), and handing the metadata
    /// to <paramref name="header"/> before any tensor is read: one parse of the header where a reader needs the names
    /// to choose and another thread waits for the metadata (<c>nn predict</c>'s weights read ahead, issue #18).
    /// </summary>
    /// <exception cref="DataException">as <see cref="Read(string)"/></exception>
    public static Checkpoint Read(string path, Func<IReadOnlyList<string>, Func<string, bool>>? wantedOf, bool floats,
        Action<IReadOnlyDictionary<string, string>>? header)
    {
        string file = DataException.NameOf(path);
        FileStream stream;
        try { stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataException(DataErrorCodes.CheckpointNotFound, path,
                $"{file}: file not found (looked for {Path.GetFullPath(path)})", inner: e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException
            or NotSupportedException)
        {
            throw Unreadable(path, e);
        }
        using (stream)
        {
            if (!stream.CanSeek)
                throw new DataException(DataErrorCodes.FileUnreadable, path, $"{file}: not a regular file");
            try { return Parse(stream, path, wantedOf, floats, header); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw Unreadable(path, e); }
        }
    }

    private static DataException Unreadable(string path, Exception e) =>
        new(DataErrorCodes.FileUnreadable, path, $"{DataException.NameOf(path)}: cannot read the file: {e.Message}",
            inner: e);

    /// <summary>Parses and validates safetensors bytes; <paramref name="path"/> is used in messages only.</summary>
    /// <exception cref="DataException">as <see cref="Read(string)"/></exception>
    public static Checkpoint Parse(byte[] bytes, string path)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        return Parse(stream, path, null, false, null);
    }

    /// <summary>A tensor's header entry, checked against the data section but not yet read.</summary>
    private readonly record struct Entry(string Name, ElementType Type, int[] Shape, long Begin, long End);

    private static Checkpoint Parse(Stream stream, string path,
        Func<IReadOnlyList<string>, Func<string, bool>>? wantedOf, bool floats,
        Action<IReadOnlyDictionary<string, string>>? onHeader)
    {
        string file = DataException.NameOf(path);
        DataException Error(string code, string what, long? offset = null) =>
            new(code, path, $"{file}: {what}", byteOffset: offset);

        long length = stream.Length;
        if (length < 8)
            throw Error(DataErrorCodes.CheckpointHeaderLength,
                "truncated: a safetensors file starts with an 8-byte header length, " +
                $"found {length} {(length == 1 ? "byte" : "bytes")}", 0);
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > (ulong)(length - 8))
            throw Error(DataErrorCodes.CheckpointHeaderLength,
                $"the header length is {n} bytes but only {length - 8} bytes follow it", 0);
        if (n > MaxHeader)
            throw Error(DataErrorCodes.CheckpointHeaderLength,
                $"the header length is {n} bytes, more than the format's limit of {MaxHeader} bytes", 0);
        var header = new byte[(int)n];
        stream.ReadExactly(header);
        long dataStart = 8 + (long)n;
        long dataLength = length - dataStart;

        // JSON strings are not checked for UTF-8 until they are read: check the whole header first.
        if (!System.Text.Unicode.Utf8.IsValid(header))
        {
            int at = 0;
            while (Rune.DecodeFromUtf8(header.AsSpan(at), out _, out int used) == System.Buffers.OperationStatus.Done)
                at += used;
            throw Error(DataErrorCodes.CheckpointHeaderJson, $"the header is not valid UTF-8 (at byte {8 + at})",
                8 + at);
        }
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e)
        {
            long? at = e.LineNumber == 0 && e.BytePositionInLine is long p ? 8 + p : null;
            throw Error(DataErrorCodes.CheckpointHeaderJson,
                at is long a
                    ? $"the header is not valid JSON (error at byte {a})"
                    : $"the header is not valid JSON (error on header line {e.LineNumber + 1})",
                at);
        }
        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw Error(DataErrorCodes.CheckpointHeaderJson, "the header is not a JSON object", 8);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in doc.RootElement.EnumerateObject())
            {
                if (entry.Name == MetadataKey)
                {
                    if (entry.Value.ValueKind != JsonValueKind.Object)
                        throw Error(DataErrorCodes.CheckpointHeaderJson,
                            "\"__metadata__\" must be an object of strings");
                    foreach (var m in entry.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                            throw Error(DataErrorCodes.CheckpointHeaderJson,
                                $"\"__metadata__\" entry `{m.Name}` must be a string");
                        metadata[m.Name] = m.Value.GetString()!;
                    }
                    continue;
                }
                if (!seen.Add(entry.Name))
                    throw Error(DataErrorCodes.CheckpointHeaderJson,
                        $"tensor `{entry.Name}` appears twice in the header");
                entries.Add(ParseEntry(entry, dataLength, Error));
            }
        }
        CheckOverlaps(entries, Error);
        var names = new List<string>(entries.Count);
        foreach (var e in entries) names.Add(e.Name);
        onHeader?.Invoke(metadata);
        var wanted = wantedOf?.Invoke(names);
        var tensors = new Dictionary<string, RawTensor>(StringComparer.Ordinal);
        var floatTensors = floats && BitConverter.IsLittleEndian
            ? new Dictionary<string, HostTensor>(StringComparer.Ordinal) : null;
        foreach (var e in entries)
        {
            if (wanted is not null && !wanted(e.Name)) continue;
            stream.Position = dataStart + e.Begin;
            if (floatTensors is not null && e.Type == ElementType.F32)
            {
                // little-endian float32 on a little-endian host: the file's bytes are the array's
                var values = Pages.Uninitialized<float>((e.End - e.Begin) / sizeof(float));
                stream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
                floatTensors[e.Name] = new HostTensor(e.Shape, values);
                continue;
            }
            var data = new byte[e.End - e.Begin];
            stream.ReadExactly(data);
            tensors[e.Name] = new RawTensor(e.Type, e.Shape, data);
        }
        return new Checkpoint(path, names, tensors, metadata, floatTensors);
    }

    /// <summary>Rejects two tensors whose bytes overlap (the reference reader does too): each byte of the data
    /// section belongs to at most one tensor, so writing one tensor can never change another.</summary>
    private static void CheckOverlaps(List<Entry> entries, Func<string, string, long?, DataException> error)
    {
        var sorted = entries.Where(e => e.End > e.Begin).OrderBy(e => e.Begin).ToList();
        for (int i = 1; i < sorted.Count; i++)
        {
            Entry a = sorted[i - 1], b = sorted[i];
            if (b.Begin < a.End)
                throw error(DataErrorCodes.CheckpointOffsets,
                    $"tensors `{a.Name}` (data_offsets [{a.Begin}, {a.End}]) and `{b.Name}` " +
                    $"([{b.Begin}, {b.End}]) overlap",
                    null);
        }
    }

    private static Entry ParseEntry(JsonProperty entry, long dataLength,
        Func<string, string, long?, DataException> error)
    {
        string name = entry.Name;
        var v = entry.Value;
        DataException Layout() => error(DataErrorCodes.CheckpointHeaderJson,
            $"tensor `{name}` in the header must be " +
            $"{{\"dtype\": string, \"shape\": [sizes], \"data_offsets\": [begin, end]}}", null);
        if (v.ValueKind != JsonValueKind.Object
            || !v.TryGetProperty("dtype", out var dtypeJ) || dtypeJ.ValueKind != JsonValueKind.String
            || !v.TryGetProperty("shape", out var shapeJ) || shapeJ.ValueKind != JsonValueKind.Array
            || !v.TryGetProperty("data_offsets", out var offJ) || offJ.ValueKind != JsonValueKind.Array
            || offJ.GetArrayLength() != 2)
            throw Layout();
        var shape = new int[shapeJ.GetArrayLength()];
        int i = 0;
        foreach (var d in shapeJ.EnumerateArray())
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out shape[i++]) || shape[i - 1] < 0)
                throw Layout();
        if (offJ[0].ValueKind != JsonValueKind.Number || offJ[1].ValueKind != JsonValueKind.Number
            || !offJ[0].TryGetInt64(out long begin) || !offJ[1].TryGetInt64(out long end))
            throw Layout();
        string dtype = dtypeJ.GetString()!;
        if (ParseDtype(dtype) is not ElementType type)
            throw error(DataErrorCodes.CheckpointDtype,
                $"tensor `{name}` has dtype {dtype}; supported are F32, F64, I32, I64 and U8", null);
        if (begin < 0 || end < begin || end > dataLength)
            throw error(DataErrorCodes.CheckpointOffsets,
                $"tensor `{name}` has data_offsets [{begin}, {end}] but the data section holds {dataLength} bytes",
                null);
        long need = HostTensor.ElementCount(shape) * RawTensor.SizeOf(type);
        if (need != end - begin)
            throw error(DataErrorCodes.CheckpointOffsets,
                $"tensor `{name}` is {dtype} {HostTensor.FormatShape(shape)}, which needs {need} bytes, " +
                $"but its data_offsets [{begin}, {end}] span {end - begin}", null);
        if (need > Array.MaxLength)
            throw error(DataErrorCodes.CheckpointOffsets,
                $"tensor `{name}` holds {need} bytes, more than one tensor can hold here", null);
        return new Entry(name, type, shape, begin, end);
    }
}
