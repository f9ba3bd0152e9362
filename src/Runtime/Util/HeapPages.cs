using System.Globalization;
using System.Runtime.InteropServices;

namespace Nn.Runtime.Util;

/// <summary>
/// Asks Linux to back the garbage collector's heap with 2 MiB pages (transparent huge pages, <c>MADV_HUGEPAGE</c>;
/// this machine's are in the `madvise` mode, the default of many distributions): one page fault then maps 2 MiB of the
/// heap instead of 4 KiB. A short command's heap only grows into fresh memory (`nn predict` runs without a collection),
/// and on the virtual machines this project runs on each fresh 4 KiB page cost ~10 µs (`bench/tools/pagefaults.c`):
/// the collector's clearing of new allocation space was ~700 faults of `nn predict`'s command thread. The advice must
/// come before the heap's memory is touched: a 2 MiB range that already holds a 4 KiB page stays in 4 KiB pages
/// (given after `GC.TryStartNoGCRegion`, which commits its regions, it saved ~1 fault in 20 of `nn predict` instead
/// of one in 3). Only a hint: elsewhere, or when the advice is refused, the heap is mapped as before, and nothing but
/// speed depends on it.
/// </summary>
internal static class HeapPages
{
    /// <summary>Advises the anonymous mappings around a new object of the heap (the collector's reserved range, in
    /// /proc/self/maps one line per committed or reserved piece, contiguous) for 2 MiB pages.</summary>
    public static unsafe void AdviseHuge()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            var probe = new byte[64];
            long at;
            fixed (byte* p = probe) at = (long)p;
            var (start, end) = AnonymousRunAround(File.ReadAllLines("/proc/self/maps"), at);
            if (end > start) Pages.AdviseHugePages((nint)start, (nuint)(end - start));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
        }
    }

    /// <summary>The contiguous run of anonymous mappings (no file, no name such as [stack]) among the lines of
    /// /proc/self/maps that holds the address <paramref name="at"/>; (0, 0) when none does.</summary>
    internal static (long Start, long End) AnonymousRunAround(IReadOnlyList<string> maps, long at)
    {
        var ranges = new List<(long Start, long End, bool Anonymous)>(maps.Count);
        foreach (var line in maps)
        {
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 5) continue;
            int dash = fields[0].IndexOf('-');
            long s = long.Parse(fields[0].AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            long e = long.Parse(fields[0].AsSpan(dash + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            bool anonymous = fields[4] == "0" && (fields.Length < 6 || fields[5].Trim().Length == 0);
            ranges.Add((s, e, anonymous));
        }
        int i = ranges.FindIndex(r => r.Start <= at && at < r.End);
        if (i < 0 || !ranges[i].Anonymous) return (0, 0);
        int first = i, last = i;
        while (first > 0 && ranges[first - 1].Anonymous && ranges[first - 1].End == ranges[first].Start) first--;
        while (last + 1 < ranges.Count && ranges[last + 1].Anonymous && ranges[last + 1].Start == ranges[last].End)
            last++;
        return (ranges[first].Start, ranges[last].End);
    }
}
