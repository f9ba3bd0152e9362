namespace Nn.Runtime.Engine.Planning;

/// <summary>The sizes that decide how a matrix product runs, in one place so that the planner's choices
/// (<see cref="WeightLayout"/>) and the binder's (<c>Codegen.GemmKernels</c>) agree.</summary>
internal static class GemmForm
{
    /// <summary>Below this many multiply-adds a product runs as a plain loop (no packing, no dispatch).</summary>
    public const long SmallProduct = 4096;

    /// <summary>Products at most this many columns wide skip packing (<c>GemmNarrow.RowVectors</c>): the packed
    /// kernel's tiles would be mostly padding.</summary>
    public const int NarrowColumns = 16;
}
