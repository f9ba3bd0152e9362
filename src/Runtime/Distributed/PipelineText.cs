using System.Globalization;
using System.Text;
using Nn.Runtime.Engine;
using Nn.Runtime.IR;

namespace Nn.Runtime.Distributed;

/// <summary>The cut of a pipeline as text, for <c>nn graph FILE --step train --plan --pipeline K</c>: per stage its
/// cost, the layers (Params) and lines it holds, the activations it receives and sends, then each stage's kernels
/// (the plans of its forward, backward and update graphs).</summary>
internal static class PipelineText
{
    private static string Number(double v) => v.ToString("#,0", CultureInfo.InvariantCulture);

    private static string Activations(IReadOnlyList<Node> nodes) =>
        nodes.Count == 0 ? "-" : string.Join(", ", nodes.Select(n => $"%{n.Id} {n.Shape}"));

    /// <summary>The stages of <paramref name="pipeline"/>: nodes are the forward graph's (as <c>nn graph --step
    /// forward</c> numbers the training-mode forward pass), lines those of <paramref name="file"/>.</summary>
    public static string Cut(PipelineGraphs pipeline, string network, string file, bool plans)
    {
        var s = new StringBuilder();
        var stages = pipeline.Stages;
        double total = stages.Sum(x => x.Stage.Cost);
        s.Append(CultureInfo.InvariantCulture,
            $"# pipeline of `{network}`: {stages.Count} stage{(stages.Count == 1 ? "" : "s")}, cut between layers; ");
        s.Append("cost = estimated FLOPs a batch row, forward and backward\n");
        foreach (var st in stages)
        {
            var x = st.Stage;
            var lines = x.Nodes.Where(n => n.Span.File == file && n.Span.Line > 0).Select(n => n.Span.Line)
                .Distinct().Order().ToArray();
            s.Append(CultureInfo.InvariantCulture,
                $"stage {x.Index}: cost {Number(x.Cost)} ({100 * x.Cost / Math.Max(1, total):0.0}%), ");
            s.Append(CultureInfo.InvariantCulture, $"{x.Nodes.Count} node{(x.Nodes.Count == 1 ? "" : "s")} ");
            s.Append(CultureInfo.InvariantCulture, $"%{x.Nodes[0].Id}..%{x.Nodes[^1].Id}");
            if (lines.Length > 0) s.Append(CultureInfo.InvariantCulture, $", lines {string.Join(" ", lines)}");
            s.Append('\n');
            var ps = st.Owned.Select(p => p.Name + " " + p.Shape + (st.Trainable.Contains(p) ? "" : " (frozen)"));
            s.Append(CultureInfo.InvariantCulture, $"  parameters: {string.Join(", ", ps.DefaultIfEmpty("-"))}\n");
            var received = x.Index == 0 ? "the data" : Activations(x.In);
            s.Append(CultureInfo.InvariantCulture, $"  receives:   {received}\n");
            s.Append(CultureInfo.InvariantCulture,
                $"  sends:      {(x.Index == stages.Count - 1 ? "the output " + x.Out[0].Shape + " to the loss"
                    : Activations(x.Out))}\n");
        }
        if (!plans) return s.ToString();
        foreach (var st in stages)
        {
            s.Append(CultureInfo.InvariantCulture, $"# stage {st.Stage.Index}: forward\n");
            s.Append(GraphRunner.PlanText(st.Forward));
            s.Append(CultureInfo.InvariantCulture,
                $"# stage {st.Stage.Index}: backward (the forward recomputed, then its gradients)\n");
            s.Append(GraphRunner.PlanText(st.Backward));
            if (st.Trainable.Count > 0)
            {
                s.Append(CultureInfo.InvariantCulture, $"# stage {st.Stage.Index}: update\n");
                s.Append(GraphRunner.PlanText(st.Update));
            }
        }
        s.Append("# last stage: the loss on the whole batch's output\n");
        s.Append(GraphRunner.PlanText(pipeline.Loss));
        return s.ToString();
    }
}
