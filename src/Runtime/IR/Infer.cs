namespace Nn.Runtime.IR;

/// <summary>The result shape of any op from its operand shapes and attributes, shared by <see cref="GraphBuilder"/>
/// and the verifier: the operand count is checked here, the rule itself is the op's definition
/// (<see cref="Primitive"/>).</summary>
internal static class Infer
{
    /// <summary>The number of operands each op takes (-1: one or more).</summary>
    public static int Arity(OpKind op) => Primitives.Of(op).Arity;

    /// <summary>True for ops applied independently to each element (with broadcasting for several operands).</summary>
    public static bool IsElementwise(OpKind op) => Primitives.Of(op) is ElementwisePrimitive;

    /// <summary>The shape of <paramref name="op"/> applied to operands of shapes <paramref name="xs"/>.</summary>
    public static Shape Shape(OpKind op, IReadOnlyList<Shape> xs, OpAttrs a, Shape? sourceShape = null)
    {
        var p = Primitives.Of(op);
        int arity = p.Arity;
        if (arity >= 0 && xs.Count != arity)
            throw new ShapeException("NN0208", $"`{op}` takes {arity} operands, got {xs.Count}");
        if (arity < 0 && xs.Count == 0) throw new ShapeException("NN0208", $"`{op}` takes at least one operand");
        return p.InferShape(xs, a, sourceShape);
    }

    /// <summary>An op's name as the language spells its built-in (`maxPool2d`, `reduceMax`), for messages.</summary>
    public static string Word(OpKind op) => Primitives.Of(op).Name;

    /// <summary>The operator a binary elementwise op is written with (`+`, `**`, `max`), for messages.</summary>
    public static string Symbol(OpKind op) => Primitives.Of(op) is BinaryPrimitive b ? b.Symbol : Word(op);
}
