using Nn.Runtime.Engine.Planning;
using Nn.Runtime.IR;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.Engine.Lowering;

/// <summary>
/// Two small kernels next to each other in a plan that neither reads nor writes a buffer the other writes run at the
/// same time, one per thread, instead of one after the other each on one thread (a dense layer's input gradient
/// dY·Wᵀ and its weight gradient Hᵀ·dY: a few microseconds each, too small to split well). The pair takes the first
/// kernel's place in the program; the second's place runs nothing (steps stay one per plan kernel, so a profile
/// books the pair's time on the first). Each kernel computes what it computes alone (a split started inside a
/// pair's part runs its parts in turn on that thread, <see cref="WorkerPool.Run"/>), so the results are the same
/// bits. Only products, fused loops and the simple reductions pair: other kernels may share the binder's workspace
/// or talk to other ranks (<c>rankSum</c>), which must stay on the calling thread and in plan order.
/// </summary>
internal static class KernelPairs
{
    /// <summary>True binds no pairs on this thread (A/B benchmarks and tests).</summary>
    [ThreadStatic] internal static bool Off;

    /// <summary>A product pairs when it has 32,768 to 1,048,576 multiply-adds (~0.5 to ~5 µs on one core: smaller
    /// ones cost less than the hand-off to the other thread, larger ones split over the threads themselves).
    /// </summary>
    internal const long MinMultiplyAdds = 1 << 15, MaxMultiplyAdds = 1 << 20;

    /// <summary>A fused loop or reduction pairs when it has 4,096 to 32,768 elements (the same reasons; a larger
    /// loop splits itself, <see cref="FusedLoopRunner.MinParallelLength"/>).</summary>
    internal const long MinElements = 1 << 12, MaxElements = 1 << 15;

    /// <summary>Replaces each pairable neighbour pair of <paramref name="steps"/> by one step that runs both at once
    /// and returns how many pairs it made. <paramref name="fixedSteps"/> marks steps that must stay as they are (an
    /// SGD update bound inside its product and the empty step after it).</summary>
    public static int Bind(Plan plan, Action[] steps, bool[] fixedSteps, int[] slotOf, int[][] shapes, long[] counts,
        int threads)
    {
        if (Off || threads < 2) return 0;
        int pairs = 0;
        for (int i = 0; i + 1 < steps.Length; i++)
        {
            PlanKernel a = plan.Kernels[i], b = plan.Kernels[i + 1];
            if (fixedSteps[i] || fixedSteps[i + 1] || !Small(a, shapes, counts) || !Small(b, shapes, counts)
                || !Independent(a, b, slotOf)) continue;
            var pair = new KernelPair(steps[i], steps[i + 1]);
            steps[i] = pair.Run;
            steps[i + 1] = static () => { };
            pairs++;
            i++;
        }
        return pairs;
    }

    /// <summary>Whether a kernel may pair: a product, a fused loop or a sum/mean with enough work to pay for a
    /// hand-off and too little to split itself well.</summary>
    internal static bool Small(PlanKernel k, int[][] shapes, long[] counts) => k switch
    {
        GemmKernel g => counts[g.Output.Id] * Depth(g, shapes) is >= MinMultiplyAdds and <= MaxMultiplyAdds,
        FusedLoop l => counts[l.Ops[0].Node.Id] is >= MinElements and <= MaxElements,
        NodeKernel { Node.Op: OpKind.Sum or OpKind.Mean } r => counts[r.Operands[0].Id] is >= MinElements
            and <= MaxElements,
        _ => false,
    };

    /// <summary>The depth k of a product's sums.</summary>
    private static long Depth(GemmKernel g, int[][] shapes)
    {
        var sa = shapes[g.A.Id];
        return sa.Length < 2 ? 0 : g.TransA ? sa[^2] : sa[^1];
    }

    /// <summary>True when neither kernel writes a buffer the other reads or writes (a buffer reused for another value
    /// counts: the slot is what the two would share).</summary>
    internal static bool Independent(PlanKernel a, PlanKernel b, int[] slotOf)
    {
        var readsA = Slots(a.Reads, slotOf);
        var writesA = Slots(a.Writes, slotOf);
        var readsB = Slots(b.Reads, slotOf);
        var writesB = Slots(b.Writes, slotOf);
        return !writesA.Overlaps(readsB) && !writesA.Overlaps(writesB) && !writesB.Overlaps(readsA);
    }

    private static HashSet<int> Slots(IReadOnlyList<Node> values, int[] slotOf)
    {
        var set = new HashSet<int>();
        foreach (var v in values)
            if (slotOf[v.Id] >= 0) set.Add(slotOf[v.Id]);
        return set;
    }
}

/// <summary>Two kernels run at once: the first on the calling thread, the second on the pool's worker (both in turn
/// when the pool runs one thread).</summary>
internal sealed class KernelPair(Action first, Action second) : IParallelWork
{
    public void Run() => WorkerPool.Shared.Run(this, 2);

    public void Execute(int index, int count)
    {
        if (count == 1) { first(); second(); }
        else if (index == 0) first();
        else second();
    }
}
