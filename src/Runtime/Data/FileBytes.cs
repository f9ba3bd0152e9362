using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using Nn.Runtime.Util;

namespace Nn.Runtime.Data;

/// <summary>
/// Reads whole files for the readers, translating I/O failures into <see cref="DataException"/>s and
/// undoing gzip compression when the file starts with the gzip magic bytes 0x1f 0x8b (whatever its extension).
/// Only regular files are read (a device such as /dev/zero never ends, a FIFO blocks until someone writes), and a
/// gzip stream is read no further than what is declared: its trailer's size, or less when the format's own header
/// (an IDX header) says exactly how long the data is.
/// </summary>
internal static class FileBytes
{
    /// <summary>The file's bytes, exactly as stored.</summary>
    /// <param name="path">the file</param>
    /// <param name="notFoundCode">the code for a missing file (NN0501 for data, NN0701 for checkpoints)</param>
    /// <exception cref="DataException">NN0501/NN0701 when missing, NN0504 when not a regular file, NN0502 when
    /// unreadable</exception>
    public static byte[] ReadRaw(string path, string notFoundCode = DataErrorCodes.FileNotFound)
    {
        RequireRegularFile(path);
        string name = DataException.NameOf(path);
        try
        {
            return ReadAll(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataException(notFoundCode, path,
                $"{name}: file not found (looked for {Path.GetFullPath(path)})", inner: e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException
            or NotSupportedException)
        {
            throw new DataException(DataErrorCodes.FileUnreadable, path,
                $"{name}: cannot read the file: {e.Message}", inner: e);
        }
    }

    /// <summary>A file's bytes read into an array whose pages were mapped first (<see cref="Pages"/>: one system call
    /// instead of a page fault per 4 KiB as the system copies the file in); as File.ReadAllBytes where the file
    /// declares no length.</summary>
    private static byte[] ReadAll(string path)
    {
        using var handle = File.OpenHandle(path);
        long length = RandomAccess.GetLength(handle);
        if (length <= 0 || length > Array.MaxLength) return File.ReadAllBytes(path);
        var bytes = Pages.Uninitialized<byte>(length);
        int done = 0;
        for (int n; done < bytes.Length && (n = RandomAccess.Read(handle, bytes.AsSpan(done), done)) > 0;) done += n;
        return done == bytes.Length ? bytes : bytes[..done]; // shorter than declared: it shrank meanwhile
    }

    /// <summary>Whether <paramref name="bytes"/> start with the gzip magic 0x1f 0x8b.</summary>
    public static bool IsGzip(ReadOnlySpan<byte> bytes) => bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;

    /// <summary>The file's bytes, decompressed if the file is gzip.</summary>
    /// <param name="path">the file</param>
    /// <param name="declaredLength">for a format whose header says how long the whole data is (IDX): given the
    /// first bytes (up to 1 KiB), the length the header declares, or null when it cannot tell. A gzip stream is then
    /// read no further than one byte past that length, so the format reader sees that there is more.</param>
    /// <exception cref="DataException">NN0501 missing, NN0504 not a regular file, NN0502 unreadable, NN0503 corrupt,
    /// truncated or larger than declared gzip</exception>
    public static byte[] Read(string path, Func<ReadOnlySpan<byte>, long?>? declaredLength = null)
    {
        byte[] raw = ReadRaw(path);
        return IsGzip(raw) ? Gunzip(raw, path, declaredLength) : raw;
    }

    /// <summary>The most a gzip member can expand: deflate's largest ratio is 1032 to 1 (258-byte matches coded
    /// in 2 bits), plus room for the header and a stored block.</summary>
    private static long MostDecompressed(long compressed) => 1032L * compressed + 1024;

    private const int PrefixLength = 1024;

    /// <summary>
    /// Decompresses gzip data, no further than its trailer declares (the last 4 bytes: the size modulo 2³²) and
    /// no further than <paramref name="declaredLength"/> + 1 when given. A stream that ends before the trailer's size
    /// (a truncated file) or goes on past it (a gzip bomb, concatenated gzip files, data over 4 GB) is an error.
    /// </summary>
    /// <exception cref="DataException">NN0503 when the compressed data is corrupt, truncated or larger than
    /// declared</exception>
    public static byte[] Gunzip(byte[] raw, string path, Func<ReadOnlySpan<byte>, long?>? declaredLength = null)
    {
        string name = DataException.NameOf(path);
        DataException Bad(string what, Exception? inner = null) =>
            new(DataErrorCodes.GzipCorrupt, path, $"{name}: {what}", inner: inner);
        if (raw.Length < 18)
            throw Bad($"the gzip data is truncated: {raw.Length} bytes, less than a gzip header and trailer (18)");
        long trailerSize = BitConverter.ToUInt32(raw, raw.Length - 4); // little-endian on every supported host
        if (trailerSize > MostDecompressed(raw.Length))
            throw Bad($"the gzip data is truncated or corrupt: its trailer declares {trailerSize} bytes, " +
                      $"more than {raw.Length} compressed bytes can hold");
        if (trailerSize > Array.MaxLength)
            throw Bad(
                $"the gzip data declares {trailerSize} bytes, more than a data file can have ({Array.MaxLength})");
        try
        {
            using var input = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            var prefix = new byte[Math.Min(PrefixLength, trailerSize)];
            int have = Fill(input, prefix, 0);
            long? declared = declaredLength?.Invoke(prefix.AsSpan(0, have));
            int limit = (int)(declared is long d && d >= 0 && d < trailerSize ? d : trailerSize);
            var data = new byte[limit];
            Array.Copy(prefix, data, Math.Min(have, limit));
            if (have > limit) return MoreThanDeclared(data, prefix[limit]);
            int total = Fill(input, data, have);
            Span<byte> probe = stackalloc byte[1];
            if (total < limit || input.Read(probe) == 0)
            {
                // The stream ended: it must end exactly where the trailer says.
                if (total != trailerSize)
                    throw Bad($"the gzip data is truncated: the stream ends after {total} bytes, " +
                              $"but its trailer declares {trailerSize}");
                return data;
            }
            if (limit < trailerSize) return MoreThanDeclared(data, probe[0]);
            throw Bad($"the gzip data holds more than the {trailerSize} bytes its trailer declares " +
                      "(a gzip bomb, several gzip files joined into one, or data over 4 GB); it was not read further");
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw Bad($"the gzip data is corrupt ({e.Message})", e);
        }
    }

    // More than the format's header declares: one byte more for the format reader, which names the problem.
    private static byte[] MoreThanDeclared(byte[] data, byte next)
    {
        Array.Resize(ref data, data.Length + 1);
        data[^1] = next;
        return data;
    }

    /// <summary>Reads into <paramref name="buffer"/> from <paramref name="start"/> until it is full or the stream
    /// ends; the number of bytes now in the buffer.</summary>
    private static int Fill(Stream input, byte[] buffer, int start)
    {
        int total = start;
        while (total < buffer.Length)
        {
            int n = input.Read(buffer, total, buffer.Length - total);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>
    /// Refuses a path that exists but is not a regular file (a folder, a character or block device, a FIFO, a
    /// socket), before it is opened: reading /dev/zero never ends and opening a FIFO waits for a writer.
    /// A missing file is left to the reader, which reports it with its own code.
    /// </summary>
    /// <exception cref="DataException">NN0504</exception>
    public static void RequireRegularFile(string path)
    {
        string? kind = Directory.Exists(path) ? "a folder" : SpecialKind(path);
        if (kind is not null)
            throw new DataException(DataErrorCodes.NotRegularFile, path,
                $"{DataException.NameOf(path)}: {Path.GetFullPath(path)} is {kind}, not a regular file; " +
                "data is read from files");
    }

    // .NET has no public API for a file's type on Unix (FileInfo says "Normal" for a device or a FIFO). The runtime's
    // own native shim, which File and Directory use, reports it: SystemNative_Stat fills a FileStatus whose second
    // 32-bit field is the mode with the type bits normalised across platforms (0xF000 mask). stat follows symbolic
    // links, so a link to a regular file is a regular file.
    [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat")]
    private static extern int SystemStat(byte[] utf8Path, byte[] fileStatus);

    private static string? SpecialKind(string path)
    {
        if (OperatingSystem.IsWindows()) return null;
        var status = new byte[256]; // FileStatus is about 120 bytes; only the mode at offset 4 is read
        int mode;
        try
        {
            // a missing file is reported by the reader
            if (SystemStat(Encoding.UTF8.GetBytes(path + "\0"), status) != 0) return null;
            mode = BitConverter.ToInt32(status, 4) & 0xF000;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        return mode switch
        {
            0x8000 or 0x4000 or 0 => null, // regular file; a folder (checked above); unknown
            0x1000 => "a named pipe (FIFO)",
            0x2000 => "a character device",
            0x6000 => "a block device",
            0xC000 => "a socket",
            _ => "a special file",
        };
    }
}
