using Nn.Runtime.IR;

namespace Nn.Runtime.Engine.Planning;

/// <summary>
/// A fused loop of exactly the form the optimizer builds for an SGD update, its roles named: plain
/// <c>t = lr·g; w' = w − t</c>, or momentum <c>t = μ·m; m' = t + g (either order); u = lr·m'; w' = w − u</c>, with the
/// temporaries unstored and w', m' stored. Recognized by structure; which operands count as scalars (lr, μ) and as full
/// operands (w, g, m: not loop members, the loop's elements in order) is the caller's test, so the planner (by shapes)
/// and the binder (by bound buffers) share one recognizer.
/// </summary>
internal sealed record SgdForm(Node W, Node G, Node? M, Node Lr, Node? Mu, FusedOp NewW, FusedOp? NewM)
{
    public static SgdForm? Match(FusedLoop loop, Func<Node, bool> isScalar, Func<Node, bool> isFull)
    {
        var ops = loop.Ops;
        var members = ops.Select(o => o.Node.Id).ToHashSet();
        bool Scalar(Node x) => !members.Contains(x.Id) && isScalar(x);
        bool Full(Node x) => !members.Contains(x.Id) && isFull(x);
        // mul(scalar, x) in either order, x passing `operand`: (scalar, x), or null.
        (Node, Node)? Scaled(FusedOp op, Func<Node, bool> operand)
        {
            if (op.Node.Op != OpKind.Mul || op.Operands.Length != 2) return null;
            for (int i = 0; i < 2; i++)
                if (Scalar(op.Operands[i]) && operand(op.Operands[1 - i])) return (op.Operands[i], op.Operands[1 - i]);
            return null;
        }
        if (ops.Count == 2 && !ops[0].Store && ops[1].Store && ops[1].Node.Op == OpKind.Sub
            && ops[1].Operands[1] == ops[0].Node
            && Scaled(ops[0], Full) is var (lr, g) && Full(ops[1].Operands[0]))
            return new SgdForm(ops[1].Operands[0], g, null, lr, null, ops[1], null);
        if (ops.Count == 4 && !ops[0].Store && ops[1].Store && !ops[2].Store && ops[3].Store
            && ops[1].Node.Op == OpKind.Add && ops[3].Node.Op == OpKind.Sub && ops[3].Operands[1] == ops[2].Node
            && Scaled(ops[0], Full) is var (mu, m)
            && (ops[1].Operands[0] == ops[0].Node ? ops[1].Operands[1]
                : ops[1].Operands[1] == ops[0].Node ? ops[1].Operands[0] : null) is { } gNode
            && Full(gNode)
            && Scaled(ops[2], x => x == ops[1].Node) is var (lr2, _)
            && Full(ops[3].Operands[0]))
            return new SgdForm(ops[3].Operands[0], gNode, m, lr2, mu, ops[3], ops[1]);
        return null;
    }
}
