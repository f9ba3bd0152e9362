using Nn.Runtime.Engine.Planning;
using Nn.Runtime.IR;

namespace Nn.Runtime.Engine.Lowering;

/// <summary>
/// Which values a fused loop on two or more threads stores with non-temporal (streaming) stores: a large value that
/// only products read, as their left operand A. A product split by C's columns reads all of A on every thread (each
/// packs its own copy), so every line of such a value ends each step in both cores' caches, and the next step's
/// ordinary stores must first take each line back from the other core: on this project's 2-vCPU machines that write
/// cost ~30× an unshared one (200 KB: 28.7 µs against 0.94; streamed 6.2 µs, the writer's own read after it 4.6 µs
/// against 1.8; bench/tools/crosscore.c). The 784-256-10 step's first loop (the pixels divided by 255, 50,176 floats,
/// then read by the forward product and the weight gradient on both threads) took 16 µs on two threads, 3.8 µs on
/// one; streamed, 7–9 µs (issue #18). Values read by anything else stay in the cache as ordinary stores leave them.
/// </summary>
internal static class StreamedStores
{
    /// <summary>Values of at least this many floats (128 KiB) stream: below it, the lines held by the other core cost
    /// less than the writer's own later reads from memory.</summary>
    internal const long MinFloats = 1 << 15;

    /// <summary>True binds every store as before on this thread (A/B benchmarks and tests).</summary>
    [ThreadStatic] internal static bool Off;

    /// <summary>Per node id, whether a loop that stores it streams it, for <paramref name="plan"/> bound on
    /// <paramref name="threads"/> threads with the element counts <paramref name="counts"/>.</summary>
    public static bool[] Of(Plan plan, long[] counts, int threads)
    {
        var g = plan.Graph;
        var streams = new bool[g.Nodes.Count];
        if (Off || threads < 2) return streams;
        int Root(Node x) => plan.ViewOf[x.Id] >= 0 ? plan.ViewOf[x.Id] : x.Id;
        var asA = new bool[g.Nodes.Count];
        var otherwise = new bool[g.Nodes.Count];
        foreach (var k in plan.Kernels)
        {
            if (k is GemmKernel p)
            {
                asA[Root(p.A)] = true;
                otherwise[Root(p.B)] = true;
                if (p.Bias is { } bias) otherwise[Root(bias)] = true;
            }
            else
                foreach (var r in k.Reads) otherwise[Root(r)] = true;
        }
        foreach (var o in g.Outputs) otherwise[Root(o.Value)] = true;
        foreach (var x in g.Nodes)
            streams[x.Id] = plan.ViewOf[x.Id] < 0 && asA[x.Id] && !otherwise[x.Id] && counts[x.Id] >= MinFloats;
        return streams;
    }
}
