using Nn.Runtime.Engine.Lowering;
using Nn.Runtime.Engine.Memory;
using Nn.Runtime.Engine.Planning;
using Nn.Runtime.IR;

namespace Nn.Runtime.Engine;

/// <summary>
/// What binding a plan at given sizes allocates, counted in float32 elements without allocating anything: the pooled
/// slots of <see cref="BufferAssigner"/>, the sources' slots and the largest convolution workspace (what
/// <see cref="Binder"/> allocates, less the few constants it fills). Counts are 64-bit, so a model too large for the
/// machine is measured, not overflowed. Also the nodes with the largest values, to name in a message.
/// </summary>
internal sealed record StepMemory(long SlotFloats, long SourceFloats, long WorkspaceFloats, Node? WorkspaceNode,
    IReadOnlyList<(Node Node, long Floats)> Largest)
{
    /// <summary>Every float the binding allocates.</summary>
    public long TotalFloats => SlotFloats + SourceFloats + WorkspaceFloats;

    /// <summary>The allocation of <paramref name="plan"/> bound with the dimension sizes <paramref name="dims"/>
    /// (e.g. n = the batch size).</summary>
    public static StepMemory Of(Plan plan, IReadOnlyDictionary<string, int> dims)
    {
        var g = plan.Graph;
        var counts = new long[g.Nodes.Count];
        foreach (var node in g.Nodes)
            counts[node.Id] = node.Shape.Symbols.All(dims.ContainsKey) ? node.Shape.Count(dims) : 0;
        var buffers = BufferAssigner.Assign(plan, counts);
        long sources = g.Nodes
            .Where(x => x.IsSource && x.Op != OpKind.Const && plan.Storage[x.Id] != Storage.None)
            .Sum(x => counts[x.Id]);
        long workspace = 0;
        Node? widest = null;
        foreach (var k in plan.Kernels.OfType<NodeKernel>())
            if (k.Node.Shape.Symbols.All(dims.ContainsKey))
            {
                long w = NodeKernels.WorkspaceLength(k.Node, k.Node.Shape.Resolve(dims),
                    k.Operands.Select(o => o.Shape.Resolve(dims)).ToArray());
                if (w > workspace) { workspace = w; widest = k.Node; }
            }
        var largest = g.Nodes.Where(x => plan.Storage[x.Id] != Storage.None)
            .Select(x => (x, counts[x.Id])).OrderByDescending(p => p.Item2).Take(3).ToArray();
        return new StepMemory(buffers.TotalFloats, sources, workspace, widest, largest);
    }

    /// <summary>A quick lower bound, in floats, of what training a forward graph allocates, without differentiating or
    /// planning it: two copies of every Param and State, the largest value and the largest convolution workspace.
    /// <c>nn check</c> plans the whole step only when this bound is large.</summary>
    public static long LowerBound(IReadOnlyList<Node> forward, IReadOnlyDictionary<string, int> dims)
    {
        long values = 0, largest = 0, workspace = 0;
        foreach (var n in forward)
        {
            if (!n.Shape.Symbols.All(dims.ContainsKey)) continue;
            long c = n.Shape.Count(dims);
            if (n.Op is OpKind.Param or OpKind.State) values += 2 * c;
            largest = Math.Max(largest, c);
            if (n.Op == OpKind.Conv2d && n.Inputs.All(i => i.Shape.Symbols.All(dims.ContainsKey)))
                workspace = Math.Max(workspace, NodeKernels.WorkspaceLength(n, n.Shape.Resolve(dims),
                    n.Inputs.Select(i => i.Shape.Resolve(dims)).ToArray()));
        }
        return values + largest + workspace;
    }
}
