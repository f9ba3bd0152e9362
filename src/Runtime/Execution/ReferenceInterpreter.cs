using System.Numerics;
using Nn.Runtime.IR;

namespace Nn.Runtime.Execution;

/// <summary>How to run a graph.</summary>
internal sealed record RunOptions
{
    /// <summary>Default options: seed 0, step 0, no finiteness check.</summary>
    public static readonly RunOptions Default = new();
    /// <summary>The run's seed (dropout masks derive from it, see <see cref="Util.Dropout.Stream"/>).</summary>
    public ulong Seed { get; init; }
    /// <summary>The training step (a new dropout mask per step).</summary>
    public long Step { get; init; }
    /// <summary>The global row of the batch's first row: dropout masks start this many rows into their streams
    /// (a rank's share of a data-parallel batch).</summary>
    public int RowOffset { get; init; }
    /// <summary>Check every value for NaN and infinity and throw <see cref="NonFiniteException"/> at the first node
    /// producing one.</summary>
    public bool CheckFinite { get; init; }
    /// <summary>The sum across data-parallel ranks that RankSum nodes take (null: one process, the identity).
    /// </summary>
    public Training.IRankSum? Ranks { get; init; }
}

/// <summary>
/// The reference interpreter: runs any graph node by node with plain loops in <typeparamref name="T"/>
/// (float32 for speed checks, float64 as the finite-difference oracle). Only the nodes the requested outputs
/// depend on are evaluated. Dimension variables are bound from the shapes of the fed sources.
/// </summary>
internal static class ReferenceInterpreter<T> where T : IBinaryFloatingPointIeee754<T>
{
    /// <summary>Runs <paramref name="graph"/> and returns every output by name. <paramref name="feeds"/> maps the
    /// name of each Input, Param and State the outputs depend on to its value.</summary>
    public static Dictionary<string, Tensor<T>> Run(Graph graph, IReadOnlyDictionary<string, Tensor<T>> feeds,
        RunOptions? options = null)
    {
        var values = Evaluate(graph, feeds, graph.Outputs.Select(o => o.Value), options);
        return graph.Outputs.ToDictionary(o => o.Key, o => values[o.Value.Id]!);
    }

    /// <summary>The value of every node needed for <paramref name="targets"/>, indexed by node id (null for nodes not
    /// needed).</summary>
    public static Tensor<T>?[] Evaluate(Graph graph, IReadOnlyDictionary<string, Tensor<T>> feeds,
        IEnumerable<Node> targets, RunOptions? options = null)
    {
        options ??= RunOptions.Default;
        var live = Liveness.Live(graph, targets);
        var bindings = Bind(graph, feeds, live);
        var values = new Tensor<T>?[graph.Nodes.Count];
        foreach (var node in graph.Nodes)
        {
            if (!live[node.Id]) continue;
            var unbound = node.Shape.Symbols.FirstOrDefault(s => !bindings.ContainsKey(s));
            if (unbound is not null)
                throw Throw.Exec(RuntimeCodes.FeedShape,
                    $"the dimension variable `{unbound}` of {node.Shape} is not bound by any fed value", node);
            var shape = node.Shape.Resolve(bindings);
            var v = node.IsSource && node.Op != OpKind.Const ? feeds[node.Name!]
                : Eval(node, node.Inputs.Select(i => values[i.Id]!).ToArray(), shape, options);
            if (!v.Shape.SequenceEqual(shape))
                throw Throw.Bug($"{node.Op} {node} computed shape [{string.Join(", ", v.Shape)}], "
                    + $"expected [{string.Join(", ", shape)}]");
            if (options.CheckFinite) CheckFinite(node, v);
            values[node.Id] = v;
        }
        return values;
    }

    /// <summary>The dimension variables' sizes, bound from the shapes of the fed sources (every live source must be
    /// fed; a fed source no target needs still binds its dimension variables, e.g. for the zero gradient of an unused
    /// input).</summary>
    public static Dictionary<string, int> Bind(Graph graph, IReadOnlyDictionary<string, Tensor<T>> feeds, bool[] live)
    {
        var bindings = new Dictionary<string, int>();
        var boundBy = new Dictionary<string, string>();
        foreach (var n in graph.Nodes)
        {
            if (n.Op is not (OpKind.Input or OpKind.Param or OpKind.State)) continue;
            if (!feeds.TryGetValue(n.Name!, out var t))
                if (!live[n.Id]) continue;
                else throw Throw.Exec(RuntimeCodes.MissingFeed,
                    $"no value was given for the {n.Op.ToString().ToLowerInvariant()} `{n.Name}` of shape {n.Shape}",
                    n);
            string Mismatch(string why) => $"the {n.Op.ToString().ToLowerInvariant()} `{n.Name}` should have shape "
                + $"{n.Shape} but was given [{string.Join(", ", t.Shape)}]{why}";
            if (t.Rank != n.Shape.Rank) throw Throw.Exec(RuntimeCodes.FeedShape, Mismatch(""), n);
            for (int i = 0; i < t.Rank; i++)
            {
                var d = n.Shape[i];
                if (d.IsFixed)
                {
                    if (d.Size != t.Shape[i]) throw Throw.Exec(RuntimeCodes.FeedShape, Mismatch($" (axis {i})"), n);
                }
                else if (bindings.TryGetValue(d.Symbol!, out var size))
                {
                    if (size != t.Shape[i])
                        throw Throw.Exec(RuntimeCodes.FeedShape,
                            Mismatch($" (`{d.Symbol}` is {size}, from `{boundBy[d.Symbol!]}`)"), n);
                }
                else { bindings[d.Symbol!] = t.Shape[i]; boundBy[d.Symbol!] = n.Name!; }
            }
        }
        return bindings;
    }

    private static void CheckFinite(Node node, Tensor<T> v)
    {
        for (int i = 0; i < v.Count; i++)
        {
            var x = v.Data[i];
            if (T.IsFinite(x)) continue;
            throw Throw.NonFinite(node, T.IsNaN(x) ? "NaN" : T.IsPositiveInfinity(x) ? "+infinity" : "-infinity", i);
        }
    }

    /// <summary>One node's value. Elementwise ops run their definition's scalar meaning; the others are listed by
    /// kind.</summary>
    private static Tensor<T> Eval(Node n, Tensor<T>[] x, int[] shape, RunOptions o)
    {
        var a = n.Attrs;
        switch (Primitives.Of(n.Op))
        {
            case UnaryPrimitive u: return Elementwise<T>.Unary(u, x[0], T.CreateChecked(a.Value));
            case BinaryPrimitive b: return Elementwise<T>.Binary(b, x[0], x[1], shape);
        }
        return n.Op switch
        {
            OpKind.Const => Tensor<T>.Fill(shape, T.CreateChecked(a.Value)),
            OpKind.Where => Elementwise<T>.Where(x[0], x[1], x[2], shape),
            OpKind.MatMul => LayoutOps<T>.MatMul(x[0], x[1], shape),
            OpKind.Transpose => LayoutOps<T>.Transpose(x[0], a.Perm!),
            OpKind.Reshape => new Tensor<T>(shape, (T[])x[0].Data.Clone()),
            OpKind.Broadcast => Elementwise<T>.Broadcast(x[0], shape),
            OpKind.Concat => LayoutOps<T>.Concat(x, a.Axes.Length > 0 ? Axis(a.Axes[0], x[0].Rank) : 0, shape),
            OpKind.Slice => LayoutOps<T>.Slice(x[0], a.Slice!.Starts, shape),
            OpKind.Pad => LayoutOps<T>.Pad(x[0], a.Pad!.Before, shape),
            OpKind.Gather => IndexOps<T>.Gather(n, x[0], x[1], shape),
            OpKind.ScatterAdd => IndexOps<T>.ScatterAdd(n, x[0], x[1], shape),
            OpKind.Sum or OpKind.Mean or OpKind.ReduceMax =>
                ReduceOps<T>.Reduce(n.Op, x[0], a.Axes.Select(ax => Axis(ax, x[0].Rank)).ToArray(), shape),
            OpKind.ArgMax => RandomOps<T>.ArgMax(x[0], Axis(a.Axes.Length > 0 ? a.Axes[0] : -1, x[0].Rank), shape),
            OpKind.Softmax or OpKind.LogSoftmax => ReduceOps<T>.Softmax(x[0],
                Axis(a.Axes.Length > 0 ? a.Axes[0] : -1, x[0].Rank), n.Op == OpKind.LogSoftmax),
            OpKind.Conv2d => ConvOps<T>.Conv2d(x[0], x[1], a.Conv!, shape),
            OpKind.Conv2dGradInput => ConvOps<T>.Conv2dGradInput(x[0], x[1], a.Conv!, shape),
            OpKind.Conv2dGradKernel => ConvOps<T>.Conv2dGradKernel(x[0], x[1], a.Conv!, shape),
            OpKind.MaxPool2d => ConvOps<T>.MaxPool(x[0], a.Pool!, shape),
            OpKind.MaxPool2dGrad => ConvOps<T>.MaxPoolGrad(x[0], x[1], a.Pool!),
            OpKind.AvgPool2d => ConvOps<T>.AvgPool(x[0], a.Pool!, shape),
            OpKind.AvgPool2dGrad => ConvOps<T>.AvgPoolGrad(x[0], a.Pool!, shape),
            OpKind.DropoutMask => RandomOps<T>.DropoutMask(shape, a.Value, a.Stream!.Value, o),
            OpKind.OneHot => RandomOps<T>.OneHot(x[0], a.Width!.Value, shape),
            OpKind.RankSum => RankSum(x[0], o.Ranks),
            OpKind.Input or OpKind.Param or OpKind.State =>
                throw Throw.Exec(RuntimeCodes.BadNode, $"the reference interpreter cannot run `{n.Op}`", n),
            // the elementwise ops, run above by their definitions (listing them would make adding one touch this file)
            _ => throw Throw.Bug($"{n.Op} is elementwise and runs by its definition"),
        };
    }

    private static int Axis(int axis, int rank) => axis < 0 ? axis + rank : axis;

    /// <summary>A copy of <paramref name="x"/> summed over the ranks (in float64 when T is, as the gradient checks
    /// run).</summary>
    private static Tensor<T> RankSum(Tensor<T> x, Training.IRankSum? ranks)
    {
        var data = (T[])x.Data.Clone();
        if (ranks is not null)
        {
            if (data is double[] d) ranks.Sum(d);
            else if (data is float[] f) ranks.Sum(f);
            else throw Throw.Bug($"a sum across ranks of {typeof(T).Name}");
        }
        return new Tensor<T>((int[])x.Shape.Clone(), data);
    }
}
