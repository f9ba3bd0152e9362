using System.Diagnostics;
using Nn.Runtime.Data;
using Nn.Runtime.Engine;

namespace Nn.Bench;

/// <summary>
/// Where a step's time goes when steps run back to back, as <c>nn train</c> runs them (<c>bench threads --gaps</c>):
/// each executor runs a block of steps in turn (A B A B), every kernel timestamped by the step's kernel callback, so
/// the worker thread is as awake at each kernel as in a training loop (unlike <c>--kernels</c>, whose single steps
/// alternate executors and let the worker fall asleep). Prints, per kernel, the median over all steps on 1 and on 2
/// threads, and the time inside <c>Step</c> before the first kernel and after the last one (binding, the non-finite
/// check, the result, the commit).
/// </summary>
internal static class StepGaps
{
    public static void Run(string name, FusedExecutor one, FusedExecutor two, HostTensor x, HostTensor y,
        ref long step, int blocks)
    {
        var execs = new[] { one, two };
        int kernels = one.TrainPlan.Kernels.Count, perBlock = x.Shape[0] > 100 ? 10 : 200;
        // [executor][kernel + 2][sample]: kernel k at k, before the first kernel at kernels, after the last at +1
        var samples = new List<double>[2][];
        for (int e = 0; e < 2; e++)
            samples[e] = Enumerable.Range(0, kernels + 2).Select(_ => new List<double>()).ToArray();
        var marks = new long[kernels + 1];
        for (int b = 0; b < 2 * blocks; b++)
        {
            int e = b % 2;
            var exec = execs[e];
            Action<int> mark = k => marks[k + 1] = Stopwatch.GetTimestamp();
            for (int s = 0; s < perBlock; s++)
            {
                long start = Stopwatch.GetTimestamp();
                exec.Step([x], y, 0.01, step++, 1, mark);
                long end = Stopwatch.GetTimestamp();
                if (s < perBlock / 10) continue; // the block's first steps: the worker wakes up
                for (int k = 0; k < kernels; k++) samples[e][k].Add(Seconds(marks[k + 1] - marks[k]));
                samples[e][kernels].Add(Seconds(marks[0] - start));
                samples[e][kernels + 1].Add(Seconds(end - marks[kernels]));
            }
        }
        Console.WriteLine($"  gaps of {name}, steps back to back, median µs, 1t / 2t:");
        double sum1 = 0, sum2 = 0;
        for (int k = 0; k < kernels + 2; k++)
        {
            double a = Median(samples[0][k]), c = Median(samples[1][k]);
            sum1 += a; sum2 += c;
            string what = k < kernels ? one.TrainPlan.Kernels[k].Describe()
                : k == kernels ? "Step before the first kernel" : "Step after the last kernel";
            string label = k < kernels ? $"k{k}" : "";
            if (a + c > 0.6e-6) Console.WriteLine($"    {label,-4} {a * 1e6,8:F1} {c * 1e6,8:F1}  {what}");
        }
        Console.WriteLine($"    sum  {sum1 * 1e6,8:F1} {sum2 * 1e6,8:F1}");
    }

    private static double Seconds(long ticks) => ticks / (double)Stopwatch.Frequency;

    private static double Median(List<double> v)
    {
        var s = v.ToArray();
        Array.Sort(s);
        return s.Length == 0 ? 0 : s[s.Length / 2];
    }
}
