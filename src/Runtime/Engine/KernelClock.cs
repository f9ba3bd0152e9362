using System.Diagnostics;
using System.Globalization;
using System.Text;
using Nn.Runtime.Engine.Planning;

namespace Nn.Runtime.Engine;

/// <summary>
/// Where a bound program's time goes, kernel by kernel (issue #18): with <c>NN_TIMINGS=kernels</c> set, every run of a
/// program bound in this process (a training step, an evaluation of one batch size) times each of its kernels and the
/// time between the end of one run and the start of the next (the caller's: a trainer's gather of the next batch), and
/// <see cref="Report"/> lists, per program and kernel, the median, mean and 90th percentile over the last
/// <see cref="Kept"/> runs (the first ones, JIT and cold caches, drop out of a long job). A kernel pair
/// (<see cref="Lowering.KernelPairs"/>) is booked on its first kernel, the second then shows ~0. Off by default: a run
/// then reads no clock. Two clock reads a kernel (~20 ns each here) are in the figures.
/// </summary>
internal sealed class KernelClock
{
    /// <summary>Whether this process times its kernels (read once).</summary>
    public static readonly bool Enabled = Environment.GetEnvironmentVariable("NN_TIMINGS") == "kernels";

    /// <summary>The runs whose times are kept, per kernel (the last ones).</summary>
    public const int Kept = 4096;

    private static readonly List<KernelClock> s_all = [];

    private readonly string[] _kernels;
    private readonly string _label;
    private readonly long[][] _ticks; // [kernel, or the last: between runs][run % Kept]
    private long _runs, _lastEnd;

    /// <summary>A clock for a program of these kernels (their descriptions), not listed by <see cref="Report"/>.
    /// </summary>
    internal KernelClock(IReadOnlyList<string> kernels, string label = "a program")
    {
        _kernels = [.. kernels];
        _label = label;
        _ticks = new long[_kernels.Length + 1][];
        for (int i = 0; i < _ticks.Length; i++) _ticks[i] = new long[Kept];
    }

    /// <summary>A clock for a program of <paramref name="plan"/> (<paramref name="label"/>: which one, as the report
    /// names it), listed by <see cref="Report"/>; null when timing is off.</summary>
    public static KernelClock? For(Plan plan, string label)
    {
        if (!Enabled) return null;
        var c = new KernelClock(plan.Kernels.Select(k => k.Describe()).ToArray(), label);
        lock (s_all) s_all.Add(c);
        return c;
    }

    /// <summary>Runs <paramref name="steps"/> (one per plan kernel) in order, timing each.</summary>
    public void Run(Action[] steps)
    {
        int slot = (int)(_runs % Kept);
        long t = Stopwatch.GetTimestamp();
        if (_runs > 0) _ticks[^1][(int)((_runs - 1) % Kept)] = t - _lastEnd;
        for (int i = 0; i < steps.Length; i++)
        {
            steps[i]();
            long now = Stopwatch.GetTimestamp();
            _ticks[i][slot] = now - t;
            t = now;
        }
        _lastEnd = t;
        _runs++;
    }

    /// <summary>Runs timed so far.</summary>
    public long Runs => _runs;

    /// <summary>One kernel's figures in microseconds (Index = the kernel count: between runs).</summary>
    public readonly record struct KernelTime(int Index, string What, double Median, double Mean, double P90);

    /// <summary>Each kernel's figures over the kept runs, then the time between runs (when there were two).</summary>
    public IReadOnlyList<KernelTime> Times()
    {
        var rows = new List<KernelTime>();
        int kept = (int)Math.Min(_runs, Kept);
        double us = 1e6 / Stopwatch.Frequency;
        for (int k = 0; k < _ticks.Length; k++)
        {
            int n = k < _ticks.Length - 1 ? kept : (int)Math.Min(_runs - 1, Kept);
            if (n <= 0) continue;
            var v = new double[n];
            for (int i = 0; i < n; i++) v[i] = _ticks[k][i] * us;
            Array.Sort(v);
            string what = k < _kernels.Length ? _kernels[k] : "between runs (the caller)";
            rows.Add(new KernelTime(k, what, v[n / 2], v.Average(), v[Math.Min(n - 1, n * 9 / 10)]));
        }
        return rows;
    }

    /// <summary><paramref name="clocks"/>, or every clock listed so far.</summary>
    private static KernelClock[] Snapshot(IEnumerable<KernelClock>? clocks)
    {
        lock (s_all) return [.. clocks ?? s_all];
    }

    /// <summary>Programs of the same kernels timed in this process (bound twice, e.g. on one thread and on two), or of
    /// <paramref name="clocks"/>, the first two of each kind side by side: each kernel's medians and their ratio (""
    /// when there are none).</summary>
    public static string SideBySide(IEnumerable<KernelClock>? clocks = null)
    {
        var all = Snapshot(clocks);
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        var groups = all.Where(c => c._runs > 1).GroupBy(c => string.Join("\n", c._kernels));
        foreach (var g in groups.Where(g => g.Count() >= 2))
        {
            var (first, second) = (g.ElementAt(0), g.ElementAt(1));
            var (a, b) = (first.Times(), second.Times());
            sb.Append(inv, $"nn: kernels of {first._label}, bound twice ({first._runs} and {second._runs} runs)")
                .Append(", medians in µs\nnn:   kernel      first    second   ratio  what\n");
            for (int i = 0; i < Math.Min(a.Count, b.Count); i++)
            {
                string k = i < a.Count - 1 ? "k" + a[i].Index.ToString(inv) : "-";
                double ratio = b[i].Median > 0 ? a[i].Median / b[i].Median : double.NaN;
                sb.Append(inv, $"nn:   {k,-6} {a[i].Median,9:F1} {b[i].Median,9:F1} {ratio,7:F2}  {a[i].What}\n");
            }
            sb.Append(inv, $"nn:   sum of the kernels' medians {a.Take(a.Count - 1).Sum(r => r.Median):F1} / ")
                .Append(inv, $"{b.Take(b.Count - 1).Sum(r => r.Median):F1} µs\n");
        }
        return sb.ToString();
    }

    /// <summary>The figures of every program timed in this process, one table each ("" when timing is off or nothing
    /// ran).</summary>
    public static string Report()
    {
        var all = Snapshot(null);
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        foreach (var c in all.Where(c => c._runs > 0))
        {
            var rows = c.Times();
            int kernels = c._kernels.Length;
            double total = rows.Where(r => r.Index < kernels).Sum(r => r.Median);
            sb.Append(inv, $"nn: kernels of {c._label}: {kernels} kernels, {c._runs} runs ")
                .Append(inv, $"(figures of the last {Math.Min(c._runs, Kept)}; medians sum to {total:F1} µs)\n")
                .Append("nn:   kernel   median µs   mean µs    p90 µs  what\n");
            foreach (var r in rows)
            {
                string k = r.Index < kernels ? "k" + r.Index.ToString(inv) : "-";
                sb.Append(inv, $"nn:   {k,-6} {r.Median,11:F1} {r.Mean,9:F1} {r.P90,9:F1}  {r.What}\n");
            }
        }
        return sb.ToString();
    }
}
