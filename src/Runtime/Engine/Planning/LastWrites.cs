using Nn.Runtime.IR;

namespace Nn.Runtime.Engine.Planning;

/// <summary>After which kernel of a plan a value is final: the last kernel that writes its buffer (a view's writes
/// are its owner's). A graph output's buffer is never reused, so from then on it holds the output's value.</summary>
internal static class LastWrites
{
    /// <summary>For each of <paramref name="nodes"/>, the index of the last kernel of <paramref name="plan"/> writing
    /// its buffer; -1 when none does (a constant, a source).</summary>
    public static int[] Of(Plan plan, IReadOnlyList<Node> nodes)
    {
        int Owner(Node n) => plan.ViewOf[n.Id] >= 0 ? plan.ViewOf[n.Id] : n.Id;
        var last = new Dictionary<int, int>();
        for (int k = 0; k < plan.Kernels.Count; k++)
            foreach (var w in plan.Kernels[k].Writes) last[Owner(w)] = k;
        return nodes.Select(n => last.TryGetValue(Owner(n), out var k) ? k : -1).ToArray();
    }
}
