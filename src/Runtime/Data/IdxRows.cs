namespace Nn.Runtime.Data;

/// <summary>
/// An IDX file read in order, a few rows at a time, as float32 (what <see cref="Idx.Read"/> gives, without the whole
/// float array): a file of unsigned bytes (type 0x08), gzip-compressed or not, whose length its header and (for gzip)
/// its trailer agree on is decompressed and widened piece by piece into the caller's span; any other file is read
/// whole by <see cref="Idx.Read"/> when opened and handed out from there. When a streamed file turns out damaged part
/// way (truncated, corrupt, longer than declared), it is read again the checked way (<see cref="Idx.Read"/>), so the
/// error is the one reading it whole raises (NN0503, NN0512, NN0514, ...) with its code and message.
/// Not thread-safe: one reader at a time (<c>nn predict</c> reads on its own thread).
/// </summary>
internal sealed class IdxRows : IDisposable
{
    private readonly string _path;
    private readonly Stream? _stream;
    private HostTensor? _whole;
    private long _done;

    /// <summary>The shape of the whole file (its first axis the rows).</summary>
    public int[] Shape { get; }

    /// <summary>The number of elements in the file.</summary>
    public long Count { get; }

    private IdxRows(string path, int[] shape, Stream? stream, HostTensor? whole)
    {
        _path = path; Shape = shape; _stream = stream; _whole = whole;
        Count = HostTensor.ElementCount(shape);
    }

    /// <summary>Opens an IDX file (gzip detected by its magic bytes) and reads its header.</summary>
    /// <exception cref="DataException">as <see cref="Idx.Read"/>: raised here for the file's header and anything
    /// a file that is not streamed holds, by <see cref="Read"/> and <see cref="Finish"/> for damage found later
    /// </exception>
    public static IdxRows Open(string path)
    {
        if (StreamGzipFile(path) is { } fromFile) return fromFile;
        byte[] raw = FileBytes.ReadRaw(path);
        // a gzip file that did not stream from the file would not from its bytes either: read the checked way
        var streamed = FileBytes.IsGzip(raw) ? null : OpenPlain(raw, path);
        if (streamed is not null) return streamed;
        var whole = Idx.Read(path);
        return new IdxRows(path, whole.Shape, null, whole);
    }

    /// <summary>A gzip-compressed file of unsigned bytes decompressed from the file as its rows are read (through a
    /// 64 KiB buffer: the whole compressed file was 1.6 MB of fresh pages for the MNIST digits, ~2 ms of the input
    /// reader on a virtual machine's page faults; issue #18), else null: the caller reads it whole, the checked way
    /// (which raises what is wrong with it, as before).</summary>
    private static IdxRows? StreamGzipFile(string path)
    {
        FileStream? file = null;
        try
        {
            FileBytes.RequireRegularFile(path);
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
            long length = file.Length;
            Span<byte> magic = stackalloc byte[2], trailer = stackalloc byte[4];
            if (length < 18 || RandomAccess.Read(file.SafeFileHandle, magic, 0) != 2 || !FileBytes.IsGzip(magic)
                || RandomAccess.Read(file.SafeFileHandle, trailer, length - 4) != 4)
            {
                file.Dispose();
                return null;
            }
            var opened = Idx.OpenGzip(file, length, BitConverter.ToUInt32(trailer));
            return opened is { } gz ? new IdxRows(path, gz.Shape, gz.Body, null) : null; // disposed when null
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DataException
            or NotSupportedException or ArgumentException)
        {
            file?.Dispose();
            return null;
        }
    }

    /// <summary>An uncompressed file of unsigned bytes exactly as long as its header declares, else null.</summary>
    private static IdxRows? OpenPlain(byte[] raw, string path)
    {
        var input = new MemoryStream(raw, writable: false);
        var shape = Idx.ByteHeader(input);
        return shape is not null && input.Position + HostTensor.ElementCount(shape) == raw.Length
            ? new IdxRows(path, shape, input, null)
            : null;
    }

    /// <summary>The next <paramref name="floats"/>.Length elements of the file into <paramref name="floats"/>.
    /// </summary>
    /// <exception cref="DataException">when the file is damaged there (as <see cref="Idx.Read"/> names it)</exception>
    /// <exception cref="ArgumentException">when fewer elements are left</exception>
    public void Read(Span<float> floats)
    {
        if (_done + floats.Length > Count)
            throw new ArgumentException($"{floats.Length} elements asked for, {Count - _done} left");
        if (_whole is null && !TryInflate(floats)) ReadWhole();
        if (_whole is not null) _whole.Data.AsSpan((int)_done, floats.Length).CopyTo(floats);
        _done += floats.Length;
    }

    /// <summary>Checks that a streamed file ends where its header says (its gzip checksum included); call it after
    /// the last <see cref="Read"/>.</summary>
    /// <exception cref="DataException">as <see cref="Read"/></exception>
    public void Finish()
    {
        if (_whole is not null || _stream is null) return;
        var probe = new byte[256];
        try
        {
            // reading to the end checks the gzip stream's CRC and length
            if (_stream.Read(probe) == 0) return;
        }
        catch (Exception e) when (e is InvalidDataException or IOException) { }
        ReadWhole();
    }

    private readonly byte[] _piece = new byte[1 << 14];

    /// <summary>Decompresses into <paramref name="floats"/>; false when the stream ends early or is damaged.</summary>
    private bool TryInflate(Span<float> floats)
    {
        try
        {
            int at = 0;
            while (at < floats.Length)
            {
                int n = _stream!.Read(_piece, 0, Math.Min(_piece.Length, floats.Length - at));
                if (n == 0) return false;
                Idx.Widen(_piece.AsSpan(0, n), floats.Slice(at, n));
                at += n;
            }
            return true;
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            return false;
        }
    }

    /// <summary>The file read whole the checked way: raises the error that names what is wrong with it (or, if it
    /// reads well after all, the rest is handed out from there).</summary>
    private void ReadWhole()
    {
        _stream?.Dispose();
        var whole = Idx.Read(_path);
        if (!whole.Shape.AsSpan().SequenceEqual(Shape))
            throw new DataException(DataErrorCodes.IdxTruncated, _path,
                $"{DataException.NameOf(_path)}: the file changed while it was read");
        _whole = whole;
    }

    public void Dispose() => _stream?.Dispose();
}
