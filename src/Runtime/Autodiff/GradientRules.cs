using Nn.Runtime.IR;

namespace Nn.Runtime.Autodiff;

/// <summary>
/// The vector-Jacobian rules: one short rule per <see cref="OpKind"/>, written with graph ops only (tinygrad's
/// <c>gradient.py</c>). <see cref="Rule"/> returns the adjoint contribution for operand <c>i</c> given the output's
/// adjoint <c>G</c>; the result may have the broadcast (output) shape — the walker reduces it to the operand's shape.
/// null means "no gradient flows" (comparisons, masks, labels, piecewise-constant ops). Ops without a rule throw
/// <see cref="MissingGradientException"/>. Elementwise rules are here; layout, reductions, convolution and pooling
/// are in <c>GradientRules.Structural.cs</c>.
/// </summary>
public static partial class GradientRules
{
    /// <summary>The adjoint contribution of operand <paramref name="i"/> of <c>c.Y</c>, or null when none flows.</summary>
    public static Node? Rule(Vjp c, int i) => c.Y.Op switch
    {
        >= OpKind.Neg and <= OpKind.Step => Unary(c),
        >= OpKind.Add and <= OpKind.Where => Binary(c, i),
        _ => Structural(c, i),
    };

    /// <summary>True when the op never passes a gradient to any operand.</summary>
    public static bool IsNonDifferentiable(OpKind op) =>
        op is OpKind.Sign or OpKind.Step or OpKind.GreaterEqual or OpKind.Equal or OpKind.ArgMax or OpKind.OneHot or OpKind.DropoutMask;

    private static Node? Unary(Vjp c)
    {
        Node g = c.G, x = c.X(0), y = c.Y;
        return y.Op switch
        {
            OpKind.Neg => c.Neg(g),
            OpKind.Exp => c.Mul(g, y),
            OpKind.Log => c.Div(g, x),
            OpKind.Sqrt => c.Div(g, c.Mul(c.C(2), y)),
            OpKind.Abs => c.Mul(g, c.U(OpKind.Sign, x)),
            OpKind.Tanh => c.Mul(g, c.Sub(c.C(1), c.U(OpKind.Square, y))),
            OpKind.Sigmoid => c.Mul(g, c.Mul(y, c.Sub(c.C(1), y))),
            OpKind.Relu => c.Mul(g, c.U(OpKind.Step, x)),
            OpKind.LeakyRelu => c.Where(c.U(OpKind.Step, x), g, c.Mul(g, c.C(c.A.Value))),
            // for x ≤ 0: d/dx α(eˣ − 1) = αeˣ = y + α
            OpKind.Elu => c.Where(c.U(OpKind.Step, x), g, c.Mul(g, c.Add(y, c.C(c.A.Value)))),
            OpKind.Gelu => c.Mul(g, GeluDerivative(c, x)),
            OpKind.Softplus => c.Mul(g, c.U(OpKind.Sigmoid, x)),
            OpKind.Sin => c.Mul(g, c.U(OpKind.Cos, x)),
            OpKind.Cos => c.Neg(c.Mul(g, c.U(OpKind.Sin, x))),
            OpKind.Square => c.Mul(g, c.Mul(c.C(2), x)),
            OpKind.Reciprocal => c.Neg(c.Mul(g, c.U(OpKind.Square, y))),
            OpKind.Sign or OpKind.Step => null,
            _ => throw Throw.MissingGradient(y),
        };
    }

    /// <summary>d/dx of 0.5·x·(1 + tanh(u)), u = √(2/π)(x + 0.044715x³).</summary>
    private static Node GeluDerivative(Vjp c, Node x)
    {
        double k = Math.Sqrt(2.0 / Math.PI), a = 0.044715;
        var x2 = c.U(OpKind.Square, x);
        var u = c.Mul(c.C(k), c.Add(x, c.Mul(c.C(a), c.Mul(x2, x))));
        var t = c.U(OpKind.Tanh, u);
        var du = c.Mul(c.C(k), c.Add(c.C(1), c.Mul(c.C(3 * a), x2)));
        var sech2 = c.Sub(c.C(1), c.U(OpKind.Square, t));
        return c.Add(c.Mul(c.C(0.5), c.Add(c.C(1), t)), c.Mul(c.Mul(c.C(0.5), x), c.Mul(sech2, du)));
    }

    private static Node? Binary(Vjp c, int i)
    {
        Node g = c.G, y = c.Y;
        return y.Op switch
        {
            OpKind.Add => g,
            OpKind.Sub => i == 0 ? g : c.Neg(g),
            OpKind.Mul => c.Mul(g, c.X(1 - i)),
            OpKind.Div => i == 0 ? c.Div(g, c.X(1)) : c.Neg(c.Mul(c.Div(g, c.X(1)), y)),
            OpKind.Pow => i == 0
                ? c.Mul(g, c.Mul(c.X(1), c.Bin(OpKind.Pow, c.X(0), c.Sub(c.X(1), c.C(1)))))
                : c.Mul(g, c.Mul(y, c.U(OpKind.Log, c.X(0)))),
            // ties go to the left operand, so the two shares always add up to g
            OpKind.Max => Share(c, c.Bin(OpKind.GreaterEqual, c.X(0), c.X(1)), i),
            OpKind.Min => Share(c, c.Bin(OpKind.GreaterEqual, c.X(1), c.X(0)), i),
            OpKind.GreaterEqual or OpKind.Equal => null,
            OpKind.Where => i switch
            {
                0 => null,
                1 => c.Where(c.X(0), g, c.C(0)),
                _ => c.Where(c.X(0), c.C(0), g),
            },
            _ => throw Throw.MissingGradient(y),
        };
    }

    private static Node Share(Vjp c, Node leftWins, int i) =>
        i == 0 ? c.Mul(c.G, leftWins) : c.Mul(c.G, c.Sub(c.C(1), leftWins));
}
