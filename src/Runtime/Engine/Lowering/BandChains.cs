using Nn.Runtime.Engine.Planning;
using Nn.Runtime.IR;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.Engine.Lowering;

/// <summary>
/// Consecutive kernels over column bands (<see cref="ColumnBands"/>) run as one job: thread t runs band t of each in
/// turn, with no hand-off between them, where each kernel alone would hand its other band to the pool's worker and
/// wait for it (about a microsecond a kernel when the two vCPUs are far apart). The backward pass of a dense layer
/// under a classifier — the layer's input gradient, the classifier's weight gradient and its update, the relu's
/// gradient, the bias gradient and its update, the layer's weight gradient with its update — is one such run: every
/// kernel of it reads the band its thread wrote, or values finished before the run.
/// A kernel joins a run when it can run one part alone (<see cref="Kernel.Part"/>), and a run is valid only while no
/// buffer it writes is read or written whole by any of its kernels (a part reads or writes only its half of each
/// value listed in <see cref="Kernel.Halves"/>, and every half of one buffer is the same half). Results are the same
/// bits: each kernel's parts compute what they compute when the kernel runs alone.
/// </summary>
internal static class BandChains
{
    /// <summary>True binds no runs on this thread (A/B benchmarks and tests).</summary>
    [ThreadStatic] internal static bool Off;

    /// <summary>One kernel's parts: <see cref="Part"/> runs part i of 2 alone on the calling thread;
    /// <see cref="Halves"/> are the values a part touches only half of (by element: the first or the second half),
    /// every other value it reads or writes it touches whole; <see cref="Clear"/> clears its non-finite checks before
    /// a run.</summary>
    internal sealed record Kernel(Action<int> Part, IReadOnlySet<Node> Halves, Action? Clear = null)
    {
        /// <summary>Run on the calling thread once both parts are done, or null: the kernel's outputs are written
        /// there (a banded A's halves added), so it ends a run and its outputs count as written after it.</summary>
        public Action? Finish { get; init; }
    }

    /// <summary>Replaces each valid run of two or more kernels of <paramref name="kernels"/> (null: not partable) by
    /// one step; returns the number of runs. <paramref name="fixedSteps"/> gets the run's kernels marked.</summary>
    public static int Bind(Plan plan, Action[] steps, bool[] fixedSteps, Kernel?[] kernels, int[] slotOf, long[] counts)
    {
        if (Off) return 0;
        int runs = 0;
        for (int first = 0; first < steps.Length;)
        {
            int end = first;
            while (end < steps.Length && kernels[end] is not null
                && (end == first || kernels[end - 1]!.Finish is null)
                && Valid(plan, kernels, first, end + 1, slotOf, counts))
                end++;
            if (end - first >= 2)
            {
                var run = new Run(kernels[first..end].Select(k => k!).ToArray());
                steps[first] = run.Go;
                for (int i = first; i < end; i++)
                {
                    fixedSteps[i] = true;
                    if (i > first) steps[i] = static () => { };
                }
                runs++;
                first = end;
            }
            else first = Math.Max(end, first + 1);
        }
        return runs;
    }

    /// <summary>Whether kernels [first, end) may run as one: no buffer they write is touched whole by any of them, and
    /// a buffer touched by halves is touched as one value's halves (the same element count).</summary>
    private static bool Valid(Plan plan, Kernel?[] kernels, int first, int end, int[] slotOf, long[] counts)
    {
        // a finishing last kernel writes its outputs after the run, on the calling thread
        var after = kernels[end - 1]!.Finish is null ? [] : plan.Kernels[end - 1].Writes;
        var written = new HashSet<int>();
        for (int i = first; i < end; i++)
            foreach (var x in plan.Kernels[i].Writes)
                if (slotOf[x.Id] >= 0 && !after.Contains(x)) written.Add(slotOf[x.Id]);
        var halfOf = new Dictionary<int, long>();
        for (int i = first; i < end; i++)
            foreach (var x in plan.Kernels[i].Reads.Concat(plan.Kernels[i].Writes))
            {
                if (i == end - 1 && after.Contains(x)) continue;
                int slot = slotOf[x.Id];
                if (slot < 0) continue;
                if (!kernels[i]!.Halves.Contains(x))
                {
                    if (written.Contains(slot)) return false;
                }
                else if (halfOf.TryGetValue(slot, out var n) ? n != counts[x.Id] : !halfOf.TryAdd(slot, counts[x.Id]))
                    return false;
            }
        return true;
    }

    /// <summary>A run's kernels, part by part.</summary>
    private sealed class Run(Kernel[] kernels) : IParallelWork
    {
        public void Go()
        {
            foreach (var k in kernels) k.Clear?.Invoke();
            WorkerPool.Shared.Run(this, ColumnBands.Count);
            kernels[^1].Finish?.Invoke();
        }

        public void Execute(int index, int count)
        {
            if (count == 1)
                foreach (var k in kernels)
                {
                    k.Part(0);
                    k.Part(1);
                }
            else
                foreach (var k in kernels) k.Part(index);
        }
    }
}
