using Nn.Runtime.IR;

namespace Nn.Runtime.Distributed;

/// <summary>The stable codes of pipeline parallelism (NN0820–NN0829, listed in docs/language.md).</summary>
internal static class PipelineCodes
{
    /// <summary><c>--pipeline</c> or <c>--micro-batches</c> is not a whole number of at least 1, or another option
    /// cannot go with it.</summary>
    public const string BadStages = "NN0820";
    /// <summary>The network has fewer places to cut than the stages asked for.</summary>
    public const string TooFewCuts = "NN0821";
    /// <summary>batchNorm in a pipelined network (its statistics would be the micro-batch's).</summary>
    public const string BatchNorm = "NN0822";
    /// <summary><c>--pipeline</c> with an option it cannot go with (<c>--engine reference</c>, a step other than
    /// the training step in <c>nn graph</c>).</summary>
    public const string Combination = "NN0823";
}

/// <summary>One stage of a cut: the forward nodes it computes (dynamic nodes, in order), the activations it receives
/// from the stage before (<see cref="In"/>) and sends to the next (<see cref="Out"/>; the last stage's is the
/// network's output), the Params it uses and its estimated cost.</summary>
internal sealed record PipelineStage(int Index, IReadOnlyList<Node> Nodes, IReadOnlyList<Node> In,
    IReadOnlyList<Node> Out, IReadOnlyList<Node> Params, double Cost);

/// <summary>
/// Where a network's forward graph is cut into consecutive stages, one per rank. The graph's dynamic nodes (those
/// depending on a data input) are taken in topological order; a cut between two of them is allowed when every
/// activation crossing it has the batch axis first (so micro-batches are row ranges of it) and no Param is used on
/// both sides (each stage updates its own Params). Nodes that depend on no data input (constants, a weight
/// transposed) are computed by the stage that uses them. Among the allowed cuts, the stages' largest cost is made
/// as small as possible (dynamic programming over the allowed cuts; those before a layer's product when there are
/// enough of them), cost being the forward FLOPs per row of the
/// batch times 3 (a backward pass costs about twice the forward: one product for the input's gradient, one for the
/// weight's), the figure PipeDream's and GPipe's partitioners balance too.
/// </summary>
internal sealed class PipelineCut
{
    private PipelineCut(IReadOnlyList<PipelineStage> stages, Node output) { Stages = stages; Output = output; }

    /// <summary>The stages, in order.</summary>
    public IReadOnlyList<PipelineStage> Stages { get; }
    /// <summary>The network's output (the last stage's <see cref="PipelineStage.Out"/>).</summary>
    public Node Output { get; }

    /// <summary>The estimated FLOPs per batch row of a forward node (times 3 for a training step).</summary>
    public static double Cost(Node n)
    {
        double elems = PerRow(n.Shape);
        return n.Op switch
        {
            OpKind.MatMul => 2 * elems * Fixed(n.Inputs[0].Shape[-1]),
            OpKind.Conv2d => 2 * elems * PerRow(n.Inputs[1].Shape) / Math.Max(1, Fixed(n.Inputs[1].Shape[-1])),
            _ => elems,
        };
    }

    private static double Fixed(Dim d) => d.IsFixed ? d.Size : 1;
    private static double PerRow(Shape s)
    {
        double c = 1;
        foreach (var d in s.Dims) c *= Fixed(d);
        return c;
    }

    /// <summary>True for nodes that depend on a data Input, by id.</summary>
    private static bool[] Dynamic(IReadOnlyList<Node> nodes)
    {
        var dynamic = new bool[nodes.Count];
        foreach (var n in nodes) dynamic[n.Id] = n.Op == OpKind.Input || n.Inputs.Any(x => dynamic[x.Id]);
        return dynamic;
    }

    /// <summary>Refuses what a pipeline cannot run as the single process does: batchNorm (a State the forward pass
    /// updates, in <paramref name="updated"/>), at its line. States the step only reads (<c>standardize</c>'s
    /// statistics) are fine, and so is dropout (its masks are drawn for the whole batch and fed by rows).</summary>
    public static void CheckSupported(IReadOnlySet<Node> updated)
    {
        if (updated.Count == 0) return;
        var first = updated.MinBy(n => n.Id)!;
        throw new NnRuntimeException(PipelineCodes.BatchNorm, first.Span,
            "batchNorm cannot run in a pipeline: each stage sees micro-batches, so its statistics would be "
            + "a micro-batch's, not the batch's (GPipe and torchgpipe normalise per micro-batch, which "
            + "changes the result); train this network without --pipeline, or use layerNorm");
    }

    /// <summary>Cuts the forward graph <paramref name="nodes"/> (whose result is <paramref name="output"/>) into
    /// <paramref name="stages"/> stages.</summary>
    /// <exception cref="NnRuntimeException">NN0821 when there are fewer allowed cuts than stages − 1; NN0822 from
    /// <see cref="CheckSupported"/></exception>
    public static PipelineCut Choose(IReadOnlyList<Node> nodes, Node output, int stages, string network,
        IReadOnlySet<Node> updated)
    {
        if (stages < 1) throw new NnRuntimeException(PipelineCodes.BadStages, SourceSpan.None,
            $"--pipeline needs at least 1 stage, got {stages}");
        var live = new bool[nodes.Count];
        live[output.Id] = true;
        for (int i = output.Id; i >= 0; i--) if (live[i]) foreach (var x in nodes[i].Inputs) live[x.Id] = true;
        CheckSupported(updated);
        var dynamic = Dynamic(nodes);
        var order = nodes.Where(n => live[n.Id] && dynamic[n.Id] && !n.IsSource).ToArray();
        if (order.Length == 0 || !ReferenceEquals(order[^1], output))
            throw new NnRuntimeException(PipelineCodes.TooFewCuts, output.Span,
                $"network `{network}` computes its output without its inputs: there is nothing to pipeline");
        var pos = new Dictionary<int, int>();
        for (int i = 0; i < order.Length; i++) pos[order[i].Id] = i;
        var batch = nodes.First(n => n.Op == OpKind.Input && live[n.Id]).Shape is { Rank: > 0 } s ? s[0] : default;

        // the Params each dynamic node uses, directly or through nodes that do not depend on data
        var paramsOf = new Dictionary<int, HashSet<Node>>();
        HashSet<Node> Uses(Node n)
        {
            if (paramsOf.TryGetValue(n.Id, out var known)) return known;
            var set = new HashSet<Node>();
            foreach (var x in n.Inputs)
                if (x.Op == OpKind.Param) set.Add(x);
                else if (!dynamic[x.Id] && !x.IsSource) set.UnionWith(Uses(x));
            return paramsOf[n.Id] = set;
        }
        var first = new Dictionary<Node, int>();
        var last = new Dictionary<Node, int>();
        var lastUse = new int[order.Length];
        for (int i = 0; i < order.Length; i++)
        {
            lastUse[i] = i;
            foreach (var p in Uses(order[i])) { first.TryAdd(p, i); last[p] = i; }
            foreach (var x in order[i].Inputs)
                if (pos.TryGetValue(x.Id, out var j)) lastUse[j] = Math.Max(lastUse[j], i);
        }
        Node[] Crossing(int after) =>
            Enumerable.Range(0, after + 1).Where(j => lastUse[j] > after).Select(j => order[j]).ToArray();
        bool Allowed(int after) =>
            Crossing(after).All(x => x.Shape.Rank > 0 && x.Shape[0] == batch && !batch.IsFixed)
            && !first.Keys.Any(p => first[p] <= after && last[p] > after);
        var cuts = Enumerable.Range(0, order.Length - 1).Where(Allowed).ToArray();
        // cuts before a layer's product (a matMul or conv2d with a Param) when there are enough: the boundaries a
        // user reads in the program, and the backward pass mirrors them
        var layers = cuts
            .Where(i => order[i + 1].Op is OpKind.MatMul or OpKind.Conv2d && Uses(order[i + 1]).Count > 0).ToArray();
        if (layers.Length >= stages - 1) cuts = layers;
        if (cuts.Length < stages - 1)
            throw new NnRuntimeException(PipelineCodes.TooFewCuts, output.Span,
                $"network `{network}` can be cut into at most {cuts.Length + 1} stage{(cuts.Length == 0 ? "" : "s")}, "
                + $"not {stages}: a cut must pass between layers, where only batch-first activations cross and no "
                + "parameter is used on both sides");

        var prefix = new double[order.Length + 1];
        for (int i = 0; i < order.Length; i++) prefix[i + 1] = prefix[i] + 3 * Cost(order[i]);
        var ends = Balance(cuts, order.Length, stages, prefix);
        var result = new List<PipelineStage>();
        for (int k = 0, start = 0; k < stages; k++)
        {
            int end = ends[k];
            var stageNodes = order[start..(end + 1)];
            var inside = stageNodes.Select(n => n.Id).ToHashSet();
            var ps = stageNodes.SelectMany(Uses).Distinct().OrderBy(p => p.Id).ToArray();
            result.Add(new PipelineStage(k, stageNodes, k == 0 ? [] : Crossing(start - 1),
                k == stages - 1 ? [output] : Crossing(end), ps, prefix[end + 1] - prefix[start]));
            start = end + 1;
        }
        return new PipelineCut(result, output);
    }

    /// <summary>The last node index of each stage: <paramref name="stages"/> − 1 of <paramref name="cuts"/> (and
    /// the end), chosen so that the largest stage cost is least; ties go to the earlier cut.</summary>
    private static int[] Balance(int[] cuts, int count, int stages, double[] prefix)
    {
        // candidates: the allowed cuts and the end; best[k][v]: least largest cost of k+1 stages ending at v
        var ends = cuts.Append(count - 1).ToArray();
        int m = ends.Length;
        var best = new double[stages, m];
        var from = new int[stages, m];
        for (int v = 0; v < m; v++) best[0, v] = prefix[ends[v] + 1];
        for (int k = 1; k < stages; k++)
            for (int v = 0; v < m; v++)
            {
                best[k, v] = double.PositiveInfinity;
                from[k, v] = -1;
                for (int u = 0; u < v; u++)
                {
                    if (double.IsPositiveInfinity(best[k - 1, u])) continue;
                    double c = Math.Max(best[k - 1, u], prefix[ends[v] + 1] - prefix[ends[u] + 1]);
                    if (c < best[k, v]) { best[k, v] = c; from[k, v] = u; }
                }
            }
        var result = new int[stages];
        int at = m - 1;
        for (int k = stages - 1; k >= 0; k--)
        {
            result[k] = ends[at];
            if (k > 0) at = from[k, at];
        }
        return result;
    }
}
