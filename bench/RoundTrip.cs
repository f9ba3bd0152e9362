using System.Diagnostics;

namespace Nn.Bench;

/// <summary>
/// The round trip of one cache line between two threads (each waits for the other's write, then writes): what the
/// host's placement of this VM's two vCPUs costs right now. On the project's 2-vCPU machines it switches between
/// ~150 ns and ~450–500 ns on an otherwise idle machine, and the two-thread step follows it (issue #18: the
/// 784-256-10 step 1.74× at 150 ns, ~1.35× at ~450 ns). <c>bench threads</c> prints it before and after its runs;
/// bench/tools/crosscore.c measures the same, pinned, with the price of writing lines the other core holds.
/// </summary>
internal static class RoundTrip
{
    private static int _turn;

    /// <summary>The median over 5 runs of 20,000 round trips, in nanoseconds.</summary>
    public static double Nanoseconds()
    {
        const int trips = 20_000;
        var runs = new double[5];
        for (int r = 0; r < runs.Length; r++)
        {
            Volatile.Write(ref _turn, 0);
            var other = new Thread(() =>
            {
                for (int i = 0; i < trips; i++)
                {
                    while (Volatile.Read(ref _turn) != 2 * i + 1) Thread.SpinWait(1);
                    Volatile.Write(ref _turn, 2 * i + 2);
                }
            });
            other.Start();
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < trips; i++)
            {
                Volatile.Write(ref _turn, 2 * i + 1);
                while (Volatile.Read(ref _turn) != 2 * i + 2) Thread.SpinWait(1);
            }
            runs[r] = Stopwatch.GetElapsedTime(t0).TotalNanoseconds / trips;
            other.Join();
        }
        Array.Sort(runs);
        return runs[runs.Length / 2];
    }
}
