namespace Nn.Runtime.IR;

/// <summary>The registry: every primitive's one definition, indexed by <see cref="OpKind"/>. Code that must cover
/// every op asks the definition here instead of switching over the enum.</summary>
internal static class Primitives
{
    // Every definition, family by family (one file each). A list rather than reflection over the assembly, so the
    // natively compiled `nn` (Native AOT, which trims what no code names) keeps them all: adding an op is writing its
    // class and naming it here; PrimitivesTests fails for an OpKind without a definition.
    private static readonly Primitive[] Definitions = new Primitive[]
    {
        new Sources.Input(), new Sources.Param(), new Sources.State(), new Sources.Const(),
        new Arithmetic.Neg(), new Arithmetic.Exp(), new Arithmetic.Log(), new Arithmetic.Sqrt(), new Arithmetic.Abs(),
        new Arithmetic.Sign(), new Arithmetic.Sin(), new Arithmetic.Cos(), new Arithmetic.Square(),
        new Arithmetic.Reciprocal(), new Arithmetic.Step(), new Arithmetic.Add(), new Arithmetic.Sub(),
        new Arithmetic.Mul(), new Arithmetic.Div(), new Arithmetic.Pow(), new Arithmetic.Max(), new Arithmetic.Min(),
        new Arithmetic.GreaterEqual(), new Arithmetic.Equal(), new Arithmetic.Where(),
        new Activations.Tanh(), new Activations.Sigmoid(), new Activations.Relu(), new Activations.LeakyRelu(),
        new Activations.Elu(), new Activations.Gelu(), new Activations.Softplus(), new Activations.Silu(),
        new Activations.HardSigmoid(), new Activations.LogSigmoid(),
        new Layout.MatMul(), new Layout.Transpose(), new Layout.Reshape(), new Layout.Broadcast(), new Layout.Concat(),
        new Layout.Slice(), new Layout.Pad(),
        new Reductions.Sum(), new Reductions.Mean(), new Reductions.ReduceMax(), new Reductions.ArgMax(),
        new Reductions.Softmax(), new Reductions.LogSoftmax(),
        new Convolution.Conv2d(), new Convolution.Conv2dGradInput(), new Convolution.Conv2dGradKernel(),
        new Pooling.MaxPool2d(), new Pooling.MaxPool2dGrad(), new Pooling.AvgPool2d(), new Pooling.AvgPool2dGrad(),
        new Indexing.Gather(), new Indexing.ScatterAdd(),
        new Randomness.DropoutMask(), new Randomness.OneHot(),
        new Collective.RankSum(),
    }.OrderBy(p => p.Kind).ToArray();

    private static readonly Primitive[] ByKind = Index();

    private static Primitive[] Index()
    {
        var byKind = new Primitive[Enum.GetValues<OpKind>().Length];
        foreach (var p in Definitions)
        {
            if (byKind[(int)p.Kind] is not null) throw Throw.Bug($"two definitions of {p.Kind}");
            byKind[(int)p.Kind] = p;
        }
        return byKind;
    }

    /// <summary>Every definition, in the order of <see cref="OpKind"/> (the built-in table's order).</summary>
    public static IReadOnlyList<Primitive> All => Definitions;

    /// <summary>The definition of <paramref name="op"/>.</summary>
    public static Primitive Of(OpKind op) =>
        ByKind[(int)op] ?? throw Throw.Bug($"{op} has no definition in Primitives");

    /// <summary>The definition of a unary elementwise op.</summary>
    public static UnaryPrimitive Unary(OpKind op) =>
        Of(op) as UnaryPrimitive ?? throw Throw.Bug($"{op} is not a unary elementwise op");

    /// <summary>The definition of a binary elementwise op.</summary>
    public static BinaryPrimitive Binary(OpKind op) =>
        Of(op) as BinaryPrimitive ?? throw Throw.Bug($"{op} is not a binary elementwise op");

    /// <summary>The unary elementwise ops, in registry order.</summary>
    public static IEnumerable<UnaryPrimitive> Unaries => Definitions.OfType<UnaryPrimitive>();
}
