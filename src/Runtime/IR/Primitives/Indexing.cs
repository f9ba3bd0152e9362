namespace Nn.Runtime.IR;

/// <summary>Rows picked by integer-valued ids: <c>gather</c> (an embedding lookup, Keras' <c>Embedding</c>,
/// PyTorch's <c>F.embedding</c>) and its gradient <c>scatterAdd</c> (PyTorch's <c>index_add_</c> along rows).
/// Ids are floats holding whole numbers (the graph has one element type); <see cref="Row"/> is the one place that
/// turns an id into a row and rejects a bad one, for the reference interpreter and the engine alike.</summary>
internal static class Indexing
{
    /// <summary>Inputs (table [v, d], ids [..]) give [.., d]: element [i.., k] is table[ids[i..], k]. The gradient
    /// with respect to the table is a scatter-add; the ids have none (PyTorch's and Keras' integer inputs).</summary>
    internal sealed class Gather : StructuralPrimitive
    {
        public override OpKind Kind => OpKind.Gather;
        public override Category Category => Category.Layout;
        public override int Arity => 2;
        public override bool Differentiable => true;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s)
        {
            var (table, ids) = (xs[0], xs[1]);
            if (table.Rank != 2 || !table[0].IsFixed || !table[1].IsFixed)
                throw new ShapeException("NN0223", $"`gather` needs a table [v, d] of fixed sizes, but got {table}");
            return new Shape([.. ids.ToArray(), table[1]]);
        }
        internal override Node? Vjp(Vjp c, int i) => i == 0 ? c.B.ScatterAdd(c.G, c.X(1), c.X(0).Shape, c.S) : null;
        internal override double? Fold(Node old, Node[] x, double[] v) => null;
    }

    /// <summary>Inputs (g [.., d], ids [..]) and Target [v, d]: a zero table whose row r sums every g[i..] with
    /// ids[i..] = r. Linear in g, its gradient is the gather of the adjoint.</summary>
    internal sealed class ScatterAdd : StructuralPrimitive
    {
        public override OpKind Kind => OpKind.ScatterAdd;
        public override Category Category => Category.Layout;
        public override int Arity => 2;
        public override bool Differentiable => true;
        internal override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? s)
        {
            var (g, ids, table) = (xs[0], xs[1], Need(a.Target));
            if (table.Rank != 2 || !table[0].IsFixed || !table[1].IsFixed)
                throw new ShapeException("NN0223",
                    $"`scatterAdd` needs a table [v, d] of fixed sizes, but got {table}");
            if (!g.Equals(new Shape([.. ids.ToArray(), table[1]])))
                throw new ShapeException("NN0224",
                    $"`scatterAdd` needs rows of ids {ids} followed by the width {table[1]}, but got {g}");
            return table;
        }
        internal override Node? Vjp(Vjp c, int i) => i == 0 ? c.B.Gather(c.G, c.X(1), c.S) : null;
        internal override double? Fold(Node old, Node[] x, double[] v) => null;
    }

    /// <summary>The row an id names: a whole number in 0..rows-1, else a run-time error at the node's line naming
    /// the op, the id and the table's rows (element <paramref name="at"/> of the ids, row-major).</summary>
    public static int Row(double id, int rows, Node node, int at)
    {
        var op = node.Op == OpKind.Gather ? "gather" : "the gradient of gather";
        if (double.IsNaN(id) || double.IsInfinity(id) || id != Math.Floor(id))
            throw Throw.Exec(RuntimeCodes.IdNotInteger,
                $"`{op}`: id {Show(id)} (element {at} of the ids) is not a whole number", node);
        if (id < 0 || id >= rows)
            throw Throw.Exec(RuntimeCodes.IdOutOfRange,
                $"`{op}`: id {Show(id)} (element {at} of the ids) is outside 0..{rows - 1} (the table has {rows} rows)",
                node);
        return (int)id;
    }

    private static string Show(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
