using System.Text;

namespace Nn.Runtime.Engine.Planning;

/// <summary>A stable text dump of a plan (for <c>nn graph --plan</c> and golden tests): one line per kernel, then
/// the views and the counts.</summary>
public static class PlanPrinter
{
    /// <summary>The plan as text.</summary>
    public static string Text(Plan plan)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < plan.Kernels.Count; i++) sb.Append('k').Append(i).Append(": ").AppendLine(plan.Kernels[i].Describe());
        var views = plan.Graph.Nodes.Where(n => plan.ViewOf[n.Id] >= 0).Select(n => $"{n}→%{plan.ViewOf[n.Id]}").ToArray();
        if (views.Length > 0) sb.AppendLine("views: " + string.Join(" ", views));
        int fused = plan.Kernels.OfType<FusedLoop>().Sum(l => l.Ops.Count);
        int gemms = plan.Kernels.OfType<GemmKernel>().Count();
        sb.AppendLine($"kernels: {plan.Kernels.Count} ({plan.Kernels.OfType<FusedLoop>().Count()} fused loops of {fused} ops, " +
                      $"{gemms} gemm, {plan.Kernels.OfType<NodeKernel>().Count()} other) for {plan.Graph.Nodes.Count} nodes");
        return sb.ToString();
    }
}
