using System.Numerics;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.IR;

/// <summary>What kind of operation a primitive is. Data on its definition, not a range of <see cref="OpKind"/>:
/// where an op sits in the enum means nothing.</summary>
internal enum Category
{
    /// <summary>Input, Param, State, Const: values from outside the step.</summary>
    Source,
    /// <summary>One operand, each element on its own.</summary>
    Unary,
    /// <summary>Two operands with NumPy broadcasting, each element on its own.</summary>
    Binary,
    /// <summary>where(cond, a, b).</summary>
    Ternary,
    /// <summary>Matrix product and the ops that move elements without computing (transpose, reshape, slice
    /// ...).</summary>
    Layout,
    /// <summary>Reductions and the normalised exponentials over an axis.</summary>
    Reduction,
    /// <summary>2-D convolution and its two gradients.</summary>
    Convolution,
    /// <summary>2-D pooling and its gradients.</summary>
    Pooling,
    /// <summary>Random masks and labels.</summary>
    Random,
    /// <summary>Sums across the ranks of a data-parallel job.</summary>
    Collective,
}

/// <summary>
/// The one definition of a primitive (JAX style): identity, printed name, category, arity, shape rule, the rule for
/// its vector-Jacobian product and constant folding; the elementwise sub-bases add the scalar semantics (one generic
/// formula for float64 and float32) and the fused tile function. Every facet is abstract, so a definition missing
/// one does not compile; <see cref="Primitives"/> holds exactly one definition per <see cref="OpKind"/>.
/// </summary>
internal abstract class Primitive
{
    /// <summary>The op this defines.</summary>
    public abstract OpKind Kind { get; }
    /// <summary>What kind of op it is.</summary>
    public abstract Category Category { get; }
    /// <summary>The number of operands (-1: one or more).</summary>
    public abstract int Arity { get; }
    /// <summary>False when no gradient ever flows to any operand (comparisons, masks, labels).</summary>
    public abstract bool Differentiable { get; }

    /// <summary>The name as printed in graphs and plans and in messages: camelCase (<c>matMul</c>,
    /// <c>reduceMax</c>).</summary>
    public string Name => char.ToLowerInvariant(Kind.ToString()[0]) + Kind.ToString()[1..];

    /// <summary>The result shape for operands of shapes <paramref name="xs"/> (the count is already checked).
    /// <paramref name="sourceShape"/> is the declared shape of an Input, Param or State.</summary>
    internal abstract Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? sourceShape);

    /// <summary>The adjoint contribution for operand <paramref name="i"/> of <c>c.Y</c>, written with graph ops
    /// (so it is itself differentiable), or null when none flows. It may have the broadcast (output) shape: the
    /// walker reduces it to the operand's shape.</summary>
    internal abstract Node? Vjp(Vjp c, int i);

    /// <summary>The value of a node whose operands are all constants (<paramref name="v"/>), when it is again one
    /// number repeated; null when it is not or cannot be known (random ops are never folded).</summary>
    internal abstract double? Fold(Node old, Node[] x, double[] v);

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>A primitive the fused engine runs inside a fused loop, one tile of values at a time.</summary>
internal interface IFusedTile
{
    /// <summary>Runs over a tile of <paramref name="n"/> values at <paramref name="d"/>; b and c are set only
    /// for ops with that many operands; alpha is the node's <see cref="OpAttrs.Value"/>.</summary>
    void Tile(in Arg a, in Arg b, in Arg c, float alpha, ref float d, nuint n);
}

/// <summary>An elementwise primitive: the result has the broadcast shape of the operands.</summary>
internal abstract class ElementwisePrimitive : Primitive, IFusedTile
{
    /// <inheritdoc />
    public override bool Differentiable => true;
    void IFusedTile.Tile(in Arg a, in Arg b, in Arg c, float alpha, ref float d, nuint n) =>
        Tile(a, b, c, alpha, ref d, n);
    internal abstract void Tile(in Arg a, in Arg b, in Arg c, float alpha, ref float d, nuint n);
}

/// <summary>A unary elementwise primitive. <see cref="Apply{T}"/> is its meaning, written once for any IEEE
/// float type: float64 for constant folding and the reference interpreter, float32 where a kernel calls it.</summary>
internal abstract class UnaryPrimitive : ElementwisePrimitive
{
    /// <inheritdoc />
    public override Category Category => Category.Unary;
    /// <inheritdoc />
    public override int Arity => 1;
    /// <summary>The built-in names of the language (the first is the canonical one, the others aliases); empty when
    /// the op is not a built-in function (it is written with an operator, or only made by rules).</summary>
    public abstract IReadOnlyList<string> Names { get; }
    /// <summary>The parameter the language passes when the call gives none (leakyRelu's slope, elu's scale).</summary>
    public virtual double DefaultAlpha => 0;
    /// <summary>The GEMM epilogue that can apply this op to a product's rows, or null.</summary>
    internal virtual Activation? Epilogue => null;

    /// <summary>The op at <paramref name="x"/>; <paramref name="alpha"/> is the node's parameter.</summary>
    public abstract T Apply<T>(T x, T alpha) where T : IBinaryFloatingPointIeee754<T>;
    /// <summary>The op at <paramref name="x"/> in float64 with the default parameter (static numbers in the
    /// language).</summary>
    public double Evaluate(double x) => Apply(x, DefaultAlpha);
    /// <summary>The op at <paramref name="x"/> in float32 with the default parameter (the kernels'
    /// precision).</summary>
    public float Evaluate(float x) => Apply(x, (float)DefaultAlpha);

    internal sealed override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? sourceShape) => xs[0];
    internal sealed override double? Fold(Node old, Node[] x, double[] v) => Apply(v[0], old.Attrs.Value);
}

/// <summary>A unary primitive whose fused tile runs the kernel operator <typeparamref name="TKernel"/>.</summary>
internal abstract class UnaryPrimitive<TKernel> : UnaryPrimitive where TKernel : struct, IUnaryOp
{
    internal sealed override void Tile(in Arg a, in Arg b, in Arg c, float alpha, ref float d, nuint n) =>
        ElementOps.Unary<TKernel>(a, ref d, n);
}

/// <summary>A unary primitive with a parameter (alpha): its kernel operator takes it as a second, scalar
/// operand.</summary>
internal abstract class ParametricPrimitive<TKernel> : UnaryPrimitive where TKernel : struct, IBinaryOp
{
    internal sealed override void Tile(in Arg a, in Arg b, in Arg c, float alpha, ref float d, nuint n) =>
        ElementOps.Binary<TKernel>(a, new Arg(alpha), ref d, n);
}

/// <summary>A binary elementwise primitive with NumPy broadcasting.</summary>
internal abstract class BinaryPrimitive : ElementwisePrimitive
{
    /// <inheritdoc />
    public override Category Category => Category.Binary;
    /// <inheritdoc />
    public override int Arity => 2;
    /// <summary>How the language writes it (<c>+</c>, <c>**</c>, <c>max</c>), for messages.</summary>
    public abstract string Symbol { get; }

    /// <summary>The op on one pair of values.</summary>
    public abstract T Apply<T>(T a, T b) where T : IBinaryFloatingPointIeee754<T>;
    /// <summary>The op in float64 (static numbers in the language).</summary>
    public double Evaluate(double a, double b) => Apply(a, b);

    internal sealed override Shape InferShape(IReadOnlyList<Shape> xs, OpAttrs a, Shape? sourceShape) =>
        ShapeRules.Broadcast(xs[0], xs[1], $"the operands of `{Symbol}`");
    internal sealed override double? Fold(Node old, Node[] x, double[] v) => Apply(v[0], v[1]);
}

/// <summary>A binary primitive whose fused tile runs the kernel operator <typeparamref name="TKernel"/>.</summary>
internal abstract class BinaryPrimitive<TKernel> : BinaryPrimitive where TKernel : struct, IBinaryOp
{
    internal sealed override void Tile(in Arg a, in Arg b, in Arg c, float alpha, ref float d, nuint n) =>
        ElementOps.Binary<TKernel>(a, b, ref d, n);
}

/// <summary>A primitive the fused engine runs as a node kernel of its own (layout, reductions, convolution ...);
/// its engine kernel is bound in Engine/Lowering/NodeKernels by <see cref="Primitive.Kind"/>.</summary>
internal abstract class StructuralPrimitive : Primitive
{
    /// <summary>The target shape attribute, or an error naming the op.</summary>
    private protected Shape Need(Shape? s) => s ?? throw new ShapeException("NN0208", $"`{Kind}` needs a target shape");
    /// <summary>The op's typed attribute, or an error naming the op.</summary>
    private protected T Need<T>(T? a) where T : class =>
        a ?? throw new ShapeException("NN0208",
            $"`{Kind}` needs its {typeof(T).Name.Replace("Attrs", "").ToLowerInvariant()} attributes");
    private protected int[] Need(int[]? a) =>
        a ?? throw new ShapeException("NN0208", $"`{Kind}` needs its integer attributes");
    /// <summary>The op's single axis attribute (the last axis when none is given).</summary>
    private protected static int FirstAxis(OpAttrs a) => a.Axes.Length > 0 ? a.Axes[0] : -1;
}
