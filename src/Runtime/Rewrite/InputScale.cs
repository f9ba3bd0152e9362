using Nn.Runtime.IR;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.Rewrite;

/// <summary>
/// An input whose one use is an elementwise division or multiplication by a constant (<c>image / 255.0</c>), done
/// where its rows are read instead of in the graph: <see cref="Find"/> gives the graph fed the input already scaled
/// (<see cref="Graph"/>: that node gone, its users reading the input) and the scale, which the reader applies to each
/// batch (<see cref="Apply"/>). The same float32 operation on the same values as the fused loop it replaces (x / c
/// with c the constant as float32, correctly rounded in every lane; a product commutes), so the outputs are bit for
/// bit the same. Why: in <c>nn predict</c> the division was ~2.2 ms of the command thread and an 800 KB slot's fresh
/// pages for MNIST, while the input's reader thread, which widens the bytes to float32 anyway, has time to spare
/// (issue #18; the whole command 1–2 ms faster, bench/README.md).
/// Not for training (a step's gradient graph uses the node), nor when the input has any other use, the node is an
/// output, the constant is the dividend, or the node's shape is not the input's.
/// </summary>
internal sealed record InputScale(OpKind Op, float Value, Graph Graph)
{
    /// <summary>The scaling of the Input <paramref name="input"/> and the graph without it; null when the input has no
    /// such single use.</summary>
    public static InputScale? Find(Graph graph, string input)
    {
        var x = graph.Nodes.SingleOrDefault(n => n.Op == OpKind.Input && n.Name == input);
        if (x is null || graph.Outputs.Any(o => o.Value == x)) return null;
        var users = graph.Nodes.Where(n => n.Inputs.Contains(x)).ToArray();
        if (users.Length != 1) return null;
        var u = users[0];
        if (!u.Shape.Equals(x.Shape) || graph.Outputs.Any(o => o.Value == u)) return null;
        var c = u.Op switch
        {
            OpKind.Div when u.Inputs[0] == x => u.Inputs[1],
            OpKind.Mul => u.Inputs[0] == x ? u.Inputs[1] : u.Inputs[0],
            _ => null,
        };
        if (c is null || c.Op != OpKind.Const || c == x) return null;
        // then without the constant, dead once its one use is gone
        var rebuilt = DeadNodes.Run(
            Rebuild.Run(graph, (b, old, operands) => old == u ? operands[u.Inputs[0] == x ? 0 : 1] : null));
        return new InputScale(u.Op, (float)c.Attrs.Value, rebuilt); // a Const's value as the fused loop reads it
    }

    /// <summary>Scales <paramref name="values"/> in place: each x becomes x / c or x · c.</summary>
    public void Apply(Span<float> values)
    {
        if (Op == OpKind.Div) Elementwise.BinaryScalar<DivOp>(values, Value, values, streaming: false);
        else Elementwise.BinaryScalar<MulOp>(values, Value, values, streaming: false);
    }
}
