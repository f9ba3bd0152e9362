using System.IO.Compression;

namespace Nn.Runtime.Data;

/// <summary>
/// Reads whole files for the readers, translating I/O failures into <see cref="DataException"/>s and
/// undoing gzip compression when the file starts with the gzip magic bytes 0x1f 0x8b (whatever its extension).
/// </summary>
public static class FileBytes
{
    /// <summary>The file's bytes, exactly as stored.</summary>
    /// <param name="path">the file</param>
    /// <param name="notFoundCode">the code for a missing file (NN0501 for data, NN0701 for checkpoints)</param>
    /// <exception cref="DataException">NN0501/NN0701 when missing, NN0502 when unreadable</exception>
    public static byte[] ReadRaw(string path, string notFoundCode = DataErrorCodes.FileNotFound)
    {
        string name = DataException.NameOf(path);
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataException(notFoundCode, path, $"{name}: file not found (looked for {Path.GetFullPath(path)})", inner: e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new DataException(DataErrorCodes.FileUnreadable, path, $"{name}: cannot read the file: {e.Message}", inner: e);
        }
    }

    /// <summary>Whether <paramref name="bytes"/> start with the gzip magic 0x1f 0x8b.</summary>
    public static bool IsGzip(ReadOnlySpan<byte> bytes) => bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;

    /// <summary>The file's bytes, decompressed if the file is gzip.</summary>
    /// <exception cref="DataException">NN0501 missing, NN0502 unreadable, NN0503 corrupt gzip</exception>
    public static byte[] Read(string path)
    {
        byte[] raw = ReadRaw(path);
        return IsGzip(raw) ? Gunzip(raw, path) : raw;
    }

    /// <summary>Decompresses gzip data (a truncated stream yields what could be decompressed; the format
    /// readers then report the truncation with the byte counts the user can check).</summary>
    /// <exception cref="DataException">NN0503 when the compressed data is corrupt</exception>
    public static byte[] Gunzip(byte[] raw, string path)
    {
        try
        {
            using var input = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var output = new MemoryStream(raw.Length * 4);
            input.CopyTo(output);
            return output.ToArray();
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new DataException(DataErrorCodes.GzipCorrupt, path,
                $"{DataException.NameOf(path)}: the gzip data is corrupt ({e.Message})", inner: e);
        }
    }
}
