using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Nn.Runtime.Data;

/// <summary>
/// Writes files so that a crash at any moment leaves either the old complete file or the new complete one:
/// the content goes to a temporary file in the same folder, is flushed to the disk
/// (<see cref="FileStream.Flush(bool)"/> with <c>true</c>), and then replaces the target with one rename
/// (<see cref="File.Move(string, string, bool)"/>), which is atomic within a file system.
/// If the writer throws, the temporary file is deleted and the old file is untouched.
/// (The folder entry itself is not fsynced: after a power cut the rename may be lost, leaving the old file.)
/// A process killed during a write leaves its temporary file (<c>.&lt;name&gt;.&lt;pid&gt;.&lt;guid&gt;.tmp</c>)
/// behind; <see cref="RemoveStale"/> deletes those of writers that are gone.
/// </summary>
internal static partial class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> with <paramref name="write"/>, atomically. Creates
    /// the folder if needed.</summary>
    /// <param name="path">the file to create or replace</param>
    /// <param name="write">writes the whole content to the stream it is given (it must not close it)</param>
    /// <exception cref="DataException">NN0706 when the file cannot be written (I/O error,
    /// permissions, disk full)</exception>
    /// <remarks>Exceptions that <paramref name="write"/> throws, other than I/O errors, propagate unchanged
    /// after the temporary file is removed.</remarks>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string full, temp;
        try
        {
            full = Path.GetFullPath(path);
            string folder = Path.GetDirectoryName(full)!;
            Directory.CreateDirectory(folder);
            temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        }
        catch (Exception e) when (IsIo(e) || e is ArgumentException or NotSupportedException)
        {
            throw Failed(path, e); // a malformed path or a folder that cannot be created
        }
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e)
        {
            TryDelete(temp);
            if (IsIo(e)) throw Failed(path, e);
            throw;
        }
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte order mark), atomically.</summary>
    /// <exception cref="DataException">NN0706 when the file cannot be written</exception>
    public static void WriteAllText(string path, string text)
    {
        byte[] bytes = new UTF8Encoding(false).GetBytes(text);
        Write(path, s => s.Write(bytes));
    }

    /// <summary>Writes <paramref name="bytes"/>, atomically.</summary>
    /// <exception cref="DataException">NN0706 when the file cannot be written</exception>
    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes));

    /// <summary>The temporary files of this class's writes:
    /// <c>.&lt;name&gt;.&lt;pid&gt;.&lt;32 hex digits&gt;.tmp</c>.</summary>
    [GeneratedRegex(@"^\..+\.(?<pid>[0-9]{1,10})\.[0-9a-f]{32}\.tmp$")]
    private static partial Regex TempName();

    /// <summary>
    /// Deletes the temporary files that interrupted writes left in <paramref name="folder"/> (not its subfolders).
    /// A file is stale when the process named in it is gone, or is a newer process that reuses its id (it started
    /// after the file was last written); a file of this process, of a live writer, or one still open for writing
    /// (locked) is kept. Files that cannot be deleted are skipped: cleaning up never fails the caller.
    /// </summary>
    /// <returns>the names of the files deleted</returns>
    public static IReadOnlyList<string> RemoveStale(string folder)
    {
        var removed = new List<string>();
        string[] files;
        try { files = Directory.GetFiles(folder, ".*.tmp"); }
        catch (Exception e) when (IsIo(e) || e is ArgumentException) { return removed; }
        foreach (var file in files)
        {
            var m = TempName().Match(Path.GetFileName(file));
            if (!m.Success || !int.TryParse(m.Groups["pid"].Value, out int pid)) continue;
            try
            {
                if (WriterAlive(pid, File.GetLastWriteTimeUtc(file))) continue;
                // A writer holds its temporary file open with FileShare.None (an exclusive lock on Unix too):
                // opening it the same way fails while anyone still writes it.
                using (new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { }
                File.Delete(file);
                removed.Add(Path.GetFileName(file));
            }
            catch (Exception e) when (IsIo(e)) { /* in use, or gone already */ }
        }
        return removed;
    }

    /// <summary>Whether process <paramref name="pid"/> may be the one that wrote a file last modified at
    /// <paramref name="written"/>: this process, or a running one that started before that time.</summary>
    private static bool WriterAlive(int pid, DateTime written)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var p = Process.GetProcessById(pid);
            if (p.HasExited) return false;
            return p.StartTime.ToUniversalTime() <= written.AddSeconds(1); // clocks of file systems are coarse
        }
        catch (ArgumentException) { return false; } // no such process
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException
                                       or System.ComponentModel.Win32Exception)
        {
            return true; // it exists but cannot be inspected: keep its files
        }
    }

    private static bool IsIo(Exception e) => e is IOException or UnauthorizedAccessException;

    private static DataException Failed(string path, Exception e) =>
        new(DataErrorCodes.WriteFailed, path, $"{DataException.NameOf(path)}: cannot write the file: {e.Message}",
            inner: e);

    private static void TryDelete(string temp)
    {
        try { File.Delete(temp); }
        catch (Exception e) when (IsIo(e))
        {
            // the temporary file is hidden and harmless; the error that matters is the caller's
        }
    }
}
