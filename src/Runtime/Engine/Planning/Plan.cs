using System.Text;
using Nn.Runtime.IR;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.Engine.Planning;

/// <summary>How a node's value is held while a plan runs.</summary>
internal enum Storage
{
    /// <summary>Not needed by any output (dead), or computed inside a kernel and never stored (a fused loop's
    /// register, a matrix product's pre-activation value).</summary>
    None,
    /// <summary>A buffer of its own (from the memory planner's pool, or an Input/Param/State's value).</summary>
    Buffer,
    /// <summary>A view of another node's buffer (Reshape: the same elements under another shape).</summary>
    View,
    /// <summary>A constant: read as one broadcast value by fused loops, filled once into a buffer when another kernel
    /// reads it.</summary>
    Constant,
}

/// <summary>One kernel of a plan: the values it reads and the values it writes to buffers.</summary>
internal abstract record PlanKernel
{
    /// <summary>The values read from buffers (after views are resolved by the binder).</summary>
    public abstract IReadOnlyList<Node> Reads { get; }
    /// <summary>The values written to buffers.</summary>
    public abstract IReadOnlyList<Node> Writes { get; }
    /// <summary>One line for <see cref="PlanPrinter"/>.</summary>
    public abstract string Describe();
}

/// <summary>One step of a fused loop: compute <see cref="Node"/> from <see cref="Operands"/> (members of the same loop
/// come from registers, others from buffers with broadcasting); <see cref="Store"/> writes it to its buffer.</summary>
internal sealed record FusedOp(Node Node, Node[] Operands, bool Store);

/// <summary>A chain (or DAG) of elementwise and broadcast ops over one iteration shape, run as one loop over tiles:
/// every intermediate stays in a cache-resident register tile; only <see cref="FusedOp.Store"/> values reach
/// memory. A slice of one axis may be a member: its elements are read from the sliced value's buffer, a block of
/// each row, into a register.</summary>
internal sealed record FusedLoop(Shape Domain, IReadOnlyList<FusedOp> Ops) : PlanKernel
{
    /// <inheritdoc />
    public override IReadOnlyList<Node> Reads =>
        Ops.SelectMany(o => o.Operands).Where(x => !Ops.Any(m => m.Node == x)).Distinct().ToArray();
    /// <inheritdoc />
    public override IReadOnlyList<Node> Writes => Ops.Where(o => o.Store).Select(o => o.Node).ToArray();
    /// <inheritdoc />
    public override string Describe() =>
        $"fused {Domain} [{string.Join(" ", Ops.Select(o =>
            $"{o.Node}={Name(o.Node.Op)}({string.Join(",", o.Operands.Select(x => x.ToString()))})"
            + $"{(o.Node.Op == OpKind.Slice ? o.Node.Attrs.Key : "")}{(o.Store ? "!" : "")}"))}]";

    internal static string Name(OpKind op) => Primitives.Of(op).Name;
}

/// <summary>A matrix product C = act(op(A)·op(B) + bias) on the packed GEMM: transposed operands become the GEMM's
/// flags, a row-vector bias add and a relu/tanh/sigmoid become its epilogue (<see cref="Absorbed"/> lists the
/// MatMul/Add nodes whose values are never stored). A with more than two axes and a shared B is one GEMM over all
/// rows; batched B runs one GEMM per batch.</summary>
internal sealed record GemmKernel(Node Output, Node A, bool TransA, Node B, bool TransB, Node? Bias,
    Activation Activation, Node MatMul, Node[] Absorbed) : PlanKernel
{
    /// <inheritdoc />
    public override IReadOnlyList<Node> Reads => Bias is null ? [A, B] : [A, B, Bias];
    /// <inheritdoc />
    public override IReadOnlyList<Node> Writes => [Output];
    /// <inheritdoc />
    public override string Describe() =>
        $"gemm {Output} = {(Activation == Activation.Identity ? "" : Activation.ToString().ToLowerInvariant() + " ")}" +
        $"{A}{(TransA ? "ᵀ" : "")} @ {B}{(TransB ? "ᵀ" : "")}{(Bias is null ? "" : $" + {Bias}")} {MatMul.Shape}" +
        (Absorbed.Length > 0 ? $" (absorbs {string.Join(",", Absorbed.Select(a => a.ToString()))})" : "");
}

/// <summary>Any other single node (reductions, softmax, convolution, pooling, layout copies, random masks, one-hot),
/// run by a dedicated kernel chosen at bind time from its op and concrete shapes.</summary>
internal sealed record NodeKernel(Node Node, Node[] Operands) : PlanKernel
{
    /// <inheritdoc />
    public override IReadOnlyList<Node> Reads => Operands;
    /// <inheritdoc />
    public override IReadOnlyList<Node> Writes => [Node];
    /// <inheritdoc />
    public override string Describe() =>
        $"{FusedLoop.Name(Node.Op)} {Node} = ({string.Join(",", Operands.Select(x => x.ToString()))}) {Node.Shape}"
            + $"{(Node.Attrs.Key is { Length: > 0 } k ? " " + k : "")}";
}

/// <summary>
/// A planned graph: the kernels in execution order and how every node is stored. Pure data, independent of the
/// batch size (shapes stay symbolic); <see cref="Lowering.Binder"/> turns it into a runnable program per size.
/// </summary>
internal sealed class Plan
{
    internal Plan(Graph graph, IReadOnlyList<PlanKernel> kernels, Storage[] storage, int[] viewOf,
        bool[]? panels = null)
    {
        Graph = graph; Kernels = kernels; Storage = storage; ViewOf = viewOf;
        Panels = panels ?? new bool[graph.Nodes.Count];
    }

    /// <summary>The same plan with the values marked in <paramref name="panels"/> (by node id) stored in
    /// <see cref="GemmPanels"/> layout (<see cref="WeightLayout.Mark"/>).</summary>
    public Plan WithPanels(bool[] panels) => new(Graph, Kernels, (Storage[])Storage, (int[])ViewOf, panels);

    /// <summary>The graph planned (after the rewrites the planner ran).</summary>
    public Graph Graph { get; }
    /// <summary>The kernels, in an order that respects every dependency.</summary>
    public IReadOnlyList<PlanKernel> Kernels { get; }
    /// <summary>How each node (by id) is stored.</summary>
    public IReadOnlyList<Storage> Storage { get; }
    /// <summary>For a <see cref="Planning.Storage.View"/> node, the id of the node owning the buffer (views of views
    /// are resolved); else -1.</summary>
    public IReadOnlyList<int> ViewOf { get; }
    /// <summary>Whether each node's (by id) value is stored in <see cref="GemmPanels"/> layout (all false unless
    /// <see cref="WithPanels"/>).</summary>
    public IReadOnlyList<bool> Panels { get; }
}

/// <summary>A stable text dump of a plan (for <c>nn graph --plan</c> and golden tests): one line per kernel, then
/// the views and the counts.</summary>
internal static class PlanPrinter
{
    /// <summary>The plan as text.</summary>
    public static string Text(Plan plan)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < plan.Kernels.Count; i++)
            sb.Append('k').Append(i).Append(": ").AppendLine(plan.Kernels[i].Describe());
        var views = plan.Graph.Nodes.Where(n => plan.ViewOf[n.Id] >= 0)
            .Select(n => $"{n}→%{plan.ViewOf[n.Id]}").ToArray();
        if (views.Length > 0) sb.AppendLine("views: " + string.Join(" ", views));
        var panels = plan.Graph.Nodes.Where(n => plan.Panels[n.Id]).Select(n => n.ToString()).ToArray();
        if (panels.Length > 0)
            sb.AppendLine("panel layout (32-column panels, read by products in place): " + string.Join(" ", panels));
        int fused = plan.Kernels.OfType<FusedLoop>().Sum(l => l.Ops.Count);
        int gemms = plan.Kernels.OfType<GemmKernel>().Count();
        sb.AppendLine($"kernels: {plan.Kernels.Count} ({plan.Kernels.OfType<FusedLoop>().Count()} fused loops " +
                      $"of {fused} ops, {gemms} gemm, {plan.Kernels.OfType<NodeKernel>().Count()} other) " +
                      $"for {plan.Graph.Nodes.Count} nodes");
        return sb.ToString();
    }
}
