using System.Diagnostics;
using System.Globalization;
using System.Text;
using Nn.Runtime.Data;

namespace Nn.Bench;

/// <summary>Reading a CSV table of MNIST's size (10,000 rows of a label and 784 pixels 0..255, about 18 MB) with
/// <see cref="Csv.Read"/>: wall and CPU seconds per read, the best of a few (`bench csv`). A second table, with a
/// categorical column, times the encoding of text columns.</summary>
internal static class CsvBench
{
    public static void Run()
    {
        Console.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
        string dir = Path.Combine(Path.GetTempPath(), "nn-csvbench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var rng = new Random(1);
            string digits = Path.Combine(dir, "digits.csv");
            var sb = new StringBuilder("label");
            for (int j = 0; j < 784; j++) sb.Append(",p").Append(j);
            sb.Append('\n');
            for (int i = 0; i < 10_000; i++)
            {
                sb.Append(rng.Next(10));
                for (int j = 0; j < 784; j++) sb.Append(',').Append(rng.Next(3) == 0 ? rng.Next(256) : 0);
                sb.Append('\n');
            }
            File.WriteAllText(digits, sb.ToString());
            string table = Path.Combine(dir, "table.csv");
            sb.Clear().Append("a,b,town,y\n");
            string[] towns = ["harbour", "hillcrest", "industrial", "old town", "riverside", "university"];
            for (int i = 0; i < 200_000; i++)
                sb.Append(CultureInfo.InvariantCulture, $"{rng.NextDouble() * 1000:F2},{rng.Next(5)},")
                  .Append(towns[rng.Next(6)]).Append(CultureInfo.InvariantCulture, $",{rng.Next(900)}\n");
            File.WriteAllText(table, sb.ToString());

            var results = new Table("CSV reading (Csv.Read, 1 thread)");
            Time(results, $"digits 10000 x 785 ({new FileInfo(digits).Length / 1e6:F1} MB)",
                 () => Csv.Read(digits, new CsvSpec(Label: ColumnRef.ByName("label"), RequireFinite: true)));
            Time(results, $"table 200000 x 4, categorical ({new FileInfo(table).Length / 1e6:F1} MB)",
                 () => Csv.Read(table, new CsvSpec(Label: ColumnRef.ByName("y"), RequireFinite: true,
                                                   Categorical: [ColumnRef.ByName("town")])));
            results.Print();
        }
        finally { Directory.Delete(dir, true); }
    }

    private static void Time(Table results, string name, Action read)
    {
        read(); // warm up: the JIT's optimised tier
        double wall = double.MaxValue, cpu = double.MaxValue;
        for (int r = 0; r < 5; r++)
        {
            var process = Process.GetCurrentProcess();
            var cpu0 = process.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            read();
            wall = Math.Min(wall, sw.Elapsed.TotalSeconds);
            process.Refresh();
            cpu = Math.Min(cpu, (process.TotalProcessorTime - cpu0).TotalSeconds);
        }
        results.Add(name + " wall", wall * 1e3, "ms");
        results.Add(name + " CPU", cpu * 1e3, "ms", null, "process CPU time, GC included");
    }
}
