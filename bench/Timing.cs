using System.Diagnostics;

namespace Nn.Bench;

/// <summary>Timing helpers: warm up (so the JIT reaches its optimised tier), then keep the
/// best of several runs.</summary>
internal static class Timing
{
    /// <summary>Passes over a table's cases (<c>--rounds=N</c>, default 3): each case keeps its best pass.</summary>
    public static int Rounds(IReadOnlyList<string> flags) =>
        flags.FirstOrDefault(f => f.StartsWith("--rounds=")) is { } r
            && int.TryParse(r["--rounds=".Length..], out int n) && n > 0 ? n : 3;

    /// <summary>Seconds per call of <paramref name="body"/>: the best of <paramref name="repeats"/> batches, each
    /// long enough to time.</summary>
    public static double BestSeconds(Action body, int repeats = 5, double minBatchSeconds = 0.2)
    {
        body();
        var sw = Stopwatch.StartNew();
        int calls = 0;
        while (sw.Elapsed.TotalSeconds < minBatchSeconds / 4) { body(); calls++; }
        int batch = Math.Max(1, (int)(calls * (minBatchSeconds / Math.Max(sw.Elapsed.TotalSeconds, 1e-9))));
        double best = double.MaxValue;
        for (int r = 0; r < repeats; r++)
        {
            sw.Restart();
            for (int i = 0; i < batch; i++) body();
            best = Math.Min(best, sw.Elapsed.TotalSeconds / batch);
        }
        return best;
    }
}

/// <summary>A printed results table: name, value, unit and the fraction of a measured peak.</summary>
internal sealed class Table(string title)
{
    private readonly List<(string Name, double Value, string Unit, double? Fraction, string Note)> _rows = [];

    public void Add(string name, double value, string unit, double? fractionOfPeak = null, string note = "") =>
        _rows.Add((name, value, unit, fractionOfPeak, note));

    public void Print()
    {
        Console.WriteLine();
        Console.WriteLine($"== {title} ==");
        Console.WriteLine($"{"case",-40} {"value",10} {"unit",-9} {"of peak",8}  note");
        foreach (var r in _rows)
        {
            string fraction = r.Fraction is double f ? $"{f * 100,7:F1}%" : "";
            Console.WriteLine($"{r.Name,-40} {Format(r.Value),10} {r.Unit,-9} {fraction,8}  {r.Note}");
        }
    }

    /// <summary>Three significant digits at least (0.427 ms, 27.5 ms, 183.4 GFLOP/s), so
    /// sub-millisecond steps compare.</summary>
    private static string Format(double v) => Math.Abs(v) < 10 ? v.ToString("F3") : v.ToString("F1");
}
